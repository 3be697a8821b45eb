#!/bin/sh
# bench/link.sh BUILD — link-only speed on a synthetic workload (>100k
# relocations, cross-object calls and data references): rivet run --noexec
# against llvm-jitlink-14 -noexec on the same objects.
set -e
BUILD=${1:-build}
RIVET=$(pwd)/$BUILD/bin/rivet
DIR=$BUILD/bench/synthetic
if [ ! -f "$DIR/main.o" ]; then
    python3 bench/gen_synthetic.py "$DIR" 160 80
    (cd "$DIR" && ls *.c | xargs -P2 -n16 cc -O0 -c)
fi
cd "$DIR"
relocs=$("$RIVET" run --noexec --stats *.o 2>&1 | sed -n 's/.* \([0-9]*\) relocations.*/\1/p')
echo "link: synthetic workload, $(ls *.o | wc -l) objects, $relocs relocations (median of 7, alternating)"
python3 "$OLDPWD/bench/compare.py" --runs 7 \
    --label "rivet run --noexec" -- "$RIVET" run --noexec *.o \
    --label "llvm-jitlink-14 -noexec" -- llvm-jitlink-14 -noexec *.o
