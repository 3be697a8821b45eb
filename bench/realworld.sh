#!/bin/sh
# bench/realworld.sh BUILD — real programs with real archives:
#   * link only: rivet run --noexec against llvm-jitlink-14 -noexec;
#   * time to exit: rivet run against cc -o + exec with ld.bfd and with lld,
#     and against tcc -run of the same objects and archives.
# hyperfine when installed (-N, no shell, for single commands; its shell
# correction for the compound ones), else bench/compare.py.
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
HF=$(command -v hyperfine || true)

# compare NAME LABEL CMD [LABEL CMD]... (first command is the baseline)
compare() {
    name=$1
    shift
    if [ -n "$HF" ]; then
        set -- "$@"
        args=""
        n=0
        while [ $# -gt 1 ]; do
            n=$((n + 1))
            eval "label_$n=\$1 cmd_$n=\$2"
            shift 2
        done
        case $name in link) style=-N ;; *) style= ;; esac
        # hyperfine needs each command as one argument
        if [ $n -eq 2 ]; then
            hyperfine $style -i -w 2 -r 15 --export-json "$name.json" \
                -n "$label_1" "$cmd_1" -n "$label_2" "$cmd_2" > /dev/null 2>&1
        else
            hyperfine $style -i -w 2 -r 15 --export-json "$name.json" \
                -n "$label_1" "$cmd_1" -n "$label_2" "$cmd_2" \
                -n "$label_3" "$cmd_3" -n "$label_4" "$cmd_4" > /dev/null 2>&1
        fi
        python3 "$ROOT/bench/table.py" "$name.json"
    else
        cmdline="python3 $ROOT/bench/compare.py --runs 7"
        while [ $# -gt 1 ]; do
            cmdline="$cmdline --label '$1' -- '$2'"
            shift 2
        done
        eval "$cmdline"
    fi
}

for prog in sqlite crypto; do
    case $prog in
    sqlite) archives="$LIB/libsqlite3.a"; libs="-lm" ;;
    crypto) archives="$LIB/libcrypto.a"; libs="-lpthread" ;;
    esac
    echo "$prog: link only"
    compare link "rivet run --noexec" "$RIVET run --noexec $prog.o $archives" \
        "llvm-jitlink-14 -noexec" "llvm-jitlink-14 -noexec $prog.o $archives"
    echo "$prog: link and run to exit"
    compare run "rivet run" "$RIVET run $prog.o $archives" \
        "cc -fuse-ld=bfd -o + run" "cc -fuse-ld=bfd -o $prog.bfd $prog.o $archives $libs && ./$prog.bfd" \
        "cc -fuse-ld=lld -o + run" "cc -fuse-ld=lld -o $prog.lld $prog.o $archives $libs && ./$prog.lld" \
        "tcc -run" "tcc $prog.o $archives $libs -run"
done
