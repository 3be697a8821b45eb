#!/bin/sh
# bench/realworld.sh BUILD — real programs with real archives:
#   * link only: rivet run --noexec against llvm-jitlink-14 -noexec;
#   * time to exit: rivet run against cc -o + exec with ld.bfd and with lld,
#     and against tcc -run of the same objects and archives.
set -e
BUILD=${1:-build}
ROOT=$(pwd)
RIVET=$ROOT/$BUILD/bin/rivet
LIB=/usr/lib/x86_64-linux-gnu
OUT=$BUILD/bench/realworld
mkdir -p "$OUT"
cd "$OUT"
cc -O2 -Wno-deprecated-declarations -c "$ROOT/bench/programs/sqlite.c" -o sqlite.o
cc -O2 -Wno-deprecated-declarations -c "$ROOT/bench/programs/crypto.c" -o crypto.o
CMP="python3 $ROOT/bench/compare.py --runs 7"
for prog in sqlite crypto; do
    case $prog in
    sqlite) archives="$LIB/libsqlite3.a"; libs="-lm" ;;
    crypto) archives="$LIB/libcrypto.a"; libs="-lpthread" ;;
    esac
    echo "$prog: link only (median of 7, alternating)"
    $CMP --label "rivet run --noexec" -- "$RIVET" run --noexec $prog.o $archives \
         --label "llvm-jitlink-14 -noexec" -- llvm-jitlink-14 -noexec $prog.o $archives
    echo "$prog: link and run to exit"
    $CMP --label "rivet run" -- "$RIVET" run $prog.o $archives \
         --label "cc -fuse-ld=bfd -o + run" -- "cc -fuse-ld=bfd -o $prog.bfd $prog.o $archives $libs && ./$prog.bfd" \
         --label "cc -fuse-ld=lld -o + run" -- "cc -fuse-ld=lld -o $prog.lld $prog.o $archives $libs && ./$prog.lld" \
         --label "tcc -run" -- "tcc $prog.o $archives $libs -run"
done
