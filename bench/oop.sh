#!/bin/sh
# bench/oop.sh BUILD — out-of-process execution against in-process:
#
#  1. round-trip time of an empty wrapper call to a forked executor
#     (rivet frames over a socketpair) against a plain ping-pong of the
#     same 32 bytes each way over the same kind of socketpair
#     (target: within 1.5x);
#  2. link-and-run of the SQLite program (bench/programs/sqlite.c with
#     libsqlite3.a): `rivet run --executor=spawn` against `rivet run`
#     (target: within 1.3x).
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
    in_process="$RIVET run $OUT/sqlite.o $LIB/libsqlite3.a"
    spawned="$RIVET run --executor=spawn $OUT/sqlite.o $LIB/libsqlite3.a"
    if command -v hyperfine > /dev/null; then
        # -N: no shell in between, so process start-up is measured once
        echo "sqlite: link and run to exit (hyperfine -N, median of 40)"
        hyperfine -N -w 5 -r 40 --export-json "$OUT/sqlite.json" \
            -n "rivet run (in-process)" "$in_process" \
            -n "rivet run --executor=spawn" "$spawned" > /dev/null
        python3 "$ROOT/bench/table.py" "$OUT/sqlite.json"
    else
        echo "sqlite: link and run to exit (median of 9, alternating)"
        python3 "$ROOT/bench/compare.py" --runs 9 \
            --label "rivet run (in-process)" -- $in_process \
            --label "rivet run --executor=spawn" -- $spawned
    fi
else
    echo "sqlite: $LIB/libsqlite3.a not installed; skipped"
fi
