#!/bin/sh
# bench/oop.sh BUILD — out-of-process execution against in-process:
#
#  1. round-trip time of an empty wrapper call to a forked executor
#     (rivet frames over a socketpair) against a plain ping-pong of the
#     same 32 bytes each way over the same kind of socketpair
#     (target: within 1.5x);
#  2. link-and-run of the SQLite program (bench/programs/sqlite.c with
#     libsqlite3.a): `rivet run --executor=spawn` against `rivet run`
#     (target: within 1.3x);
#  3. the same for a hello world, whose difference is the fixed cost of
#     a spawned executor (start, round trips, exit), with /bin/true (a
#     process started and waited for, nothing more) beside it.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$BUILD/bench/oop
RIVET=$BUILD/bin/rivet
LIB=/usr/lib/x86_64-linux-gnu
mkdir -p "$OUT"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" "$ROOT/bench/oop_rtt.c" \
    "$BUILD/lib/librivet.a" "$BUILD/lib/librivet-rt.a" -ldl -lpthread -rdynamic \
    -o "$OUT/oop_rtt"
"$OUT/oop_rtt" "${OOP_RTT_ITERATIONS:-30000}"

if [ -f "$LIB/libsqlite3.a" ]; then
    cc -O2 -Wno-deprecated-declarations -c "$ROOT/bench/programs/sqlite.c" -o "$OUT/sqlite.o"
    # Alternating run by run (bench/alternate.c), so that the machine's
    # load, which changes over a measurement, falls on both alike.
    cc -O2 -std=c11 "$ROOT/bench/alternate.c" -o "$OUT/alternate"
    echo "sqlite: link and run to exit"
    "$OUT/alternate" -r "${OOP_SQLITE_RUNS:-40}" -w 5 \
        -n "rivet run (in-process)" "$RIVET" run "$OUT/sqlite.o" "$LIB/libsqlite3.a" -- \
        -n "rivet run --executor=spawn" "$RIVET" run --executor=spawn "$OUT/sqlite.o" "$LIB/libsqlite3.a" --
else
    echo "sqlite: $LIB/libsqlite3.a not installed; skipped"
fi

printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > "$OUT/hello.c"
cc -O2 -c "$OUT/hello.c" -o "$OUT/hello.o"
cc -O2 -std=c11 "$ROOT/bench/alternate.c" -o "$OUT/alternate"
echo "hello world: link and run to exit"
"$OUT/alternate" -r "${OOP_SQLITE_RUNS:-40}" -w 5 \
    -n "rivet run (in-process)" "$RIVET" run "$OUT/hello.o" -- \
    -n "rivet run --executor=spawn" "$RIVET" run --executor=spawn "$OUT/hello.o" -- \
    -n "/bin/true" /bin/true --
