#!/bin/sh
# bench/engine.sh BUILD — the engine's warm path (every source already in
# the object cache):
#   1. `rivet run -O2 *.c` of a multi-file program (bench/engine: ~50 ms of
#      work) against the same sources linked natively (target: within 1.5x);
#   2. `rivet run hello.c` against `tcc -run hello.c` (target: rivet faster);
#   3. the calc demo (examples/demo, startup-dominated), for reference.
# A private cache directory is filled by one cold run first.
set -e
BUILD=${1:-build}
ROOT=$(pwd)
RIVET=$ROOT/$BUILD/bin/rivet
DIR=$ROOT/$BUILD/bench/engine
rm -rf "$DIR" && mkdir -p "$DIR"
cp bench/engine/*.c bench/engine/*.h "$DIR"
mkdir -p "$DIR/demo" && cp examples/demo/*.c examples/demo/*.h "$DIR/demo"
cd "$DIR"
XDG_CACHE_HOME=$DIR/cache
export XDG_CACHE_HOME
printf '#include <stdio.h>\nint main(void)\n{\n    printf("hello\\n");\n    return 0;\n}\n' > hello.c
work="main.c sieve.c matmul.c table.c"
cc -O2 $work -o work-native
"$RIVET" run -O2 $work > /dev/null          # fill the cache
"$RIVET" run hello.c > /dev/null
echo "engine: warm rivet run of a 4-file program vs its native executable (median of 9)"
python3 "$ROOT/bench/compare.py" --runs 9 \
    --label "native executable" -- ./work-native \
    --label "rivet run -O2 (cached)" -- "$RIVET" run -O2 $work
if command -v tcc > /dev/null; then
    echo "engine: warm rivet run hello.c vs tcc -run hello.c (median of 21)"
    python3 "$ROOT/bench/compare.py" --runs 21 \
        --label "tcc -run hello.c" -- tcc -run hello.c \
        --label "rivet run hello.c (cached)" -- "$RIVET" run hello.c
else
    echo "engine: tcc not installed (scripts/install-deps.sh); hello.c skipped"
fi
cd demo
cc -O2 lexer.c parser.c main.c -o calc-native
"$RIVET" run -O2 lexer.c parser.c main.c -- "1 + 2" > /dev/null
echo "engine: calc demo, 3 files, startup-dominated (median of 21)"
python3 "$ROOT/bench/compare.py" --runs 21 \
    --label "native executable" -- ./calc-native "1 + 2" \
    --label "rivet run -O2 (cached)" -- "$RIVET" run -O2 lexer.c parser.c main.c -- "1 + 2"
