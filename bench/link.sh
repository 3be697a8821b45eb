#!/bin/sh
# bench/link.sh BUILD — link-only speed on a synthetic workload (>100k
# relocations, cross-object calls and data references): rivet run --noexec
# against llvm-jitlink-14 -noexec on the same objects. hyperfine (-N, no
# shell in between) when it is installed, else bench/compare.py.
set -e
BUILD=${1:-build}
RIVET=$(pwd)/$BUILD/bin/rivet
DIR=$BUILD/bench/synthetic
if [ ! -f "$DIR/main.o" ]; then
    python3 bench/gen_synthetic.py "$DIR" 160 80
    (cd "$DIR" && ls *.c | xargs -P2 -n16 cc -O0 -c)
fi
cd "$DIR"
objs=$(echo *.o)
relocs=$("$RIVET" run --noexec --stats $objs 2>&1 | sed -n 's/.* \([0-9]*\) relocations.*/\1/p')
echo "link: synthetic workload, $(echo $objs | wc -w) objects, $relocs relocations"
if command -v hyperfine > /dev/null; then
    hyperfine -N -w 3 -r 30 --export-json link.json \
        -n "rivet run --noexec" "$RIVET run --noexec $objs" \
        -n "llvm-jitlink-14 -noexec" "llvm-jitlink-14 -noexec $objs" > /dev/null
    python3 "$OLDPWD/bench/table.py" link.json
else
    python3 "$OLDPWD/bench/compare.py" --runs 7 \
        --label "rivet run --noexec" -- "$RIVET" run --noexec $objs \
        --label "llvm-jitlink-14 -noexec" -- llvm-jitlink-14 -noexec $objs
fi
