#!/bin/bash
# tests/e2e/compare.sh — run a C or C++ program natively and under rivet;
# the two runs must agree on stdout, stderr and exit status.
#
#   compare.sh --rivet PATH [options] PROGRAM_DIR
#
#   --rivet PATH     the rivet binary under test
#   --work DIR       scratch directory (default: a fresh mktemp -d)
#   --cflags FLAGS   extra compile flags for this program (word-split)
#   --args "A B"     program arguments (word-split)
#   --env NAME=VAL   set in both runs' environment (repeatable)
#   --libs "L1 L2"   link inputs after the objects, for both runs, e.g.
#                    "/usr/lib/x86_64-linux-gnu/libz.a -lm" (word-split)
#   --status N       the native run must also exit with status N
#   --only "CC OPT VARIANT"  run this configuration instead of the matrix
#                    (repeatable: the configurations given, in order)
#
# RIVET_EXECUTORS="in-process spawn tcp" runs the rivet side once per
# executor kind (rivet run --executor=KIND; tcp: a `rivet-executor --listen`
# on a free loopback port, whose output is the program's), each compared
# with the native run; default: in-process only.
#
# Every *.c (and *.cc, *.cpp) in PROGRAM_DIR is compiled with -c into its
# own object; the objects are linked natively with the same compiler and
# run, then given to `rivet run` in the same order. C++ sources are compiled
# with the configuration's C++ compiler (gcc: g++, clang-14: clang++-14),
# which then also links natively; CC in --only names the C compiler.
# The matrix is {gcc, clang-14} x {-O0, -O2} x {pie (the default), pic
# (-fPIC), nopic (-fno-pic, linked -no-pie), debug (-g), sections
# (-ffunction-sections -fdata-sections)}.
# E2E_MATRIX=quick runs only gcc -O0 pie (for a fast edit-run loop).
#
# Both runs get argv[0] "prog", the same arguments and environment, stdin
# from /dev/null, and 60 s. Exit status: 0 if every configuration agreed,
# 1 otherwise (with a diff per mismatch), 2 on a usage or build error.
set -u

rivet="" work="" cflags="" args="" libs="" want_status=""
envs=()
only=()
positional=()
while [ $# -gt 0 ]; do
    case $1 in
    --rivet) rivet=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --cflags) cflags=$2; shift 2 ;;
    --args) args=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --libs) libs=$2; shift 2 ;;
    --status) want_status=$2; shift 2 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -eq 1 ] && [ -n "$rivet" ] || {
    echo "usage: compare.sh --rivet PATH [options] PROGRAM_DIR" >&2; exit 2; }
prog_dir=$(cd "${positional[0]}" && pwd) || exit 2
case $rivet in /*) ;; *) rivet=$(pwd)/$rivet ;; esac
[ -x "$rivet" ] || { echo "compare.sh: $rivet is not executable" >&2; exit 2; }
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/rivet-e2e.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work" || exit 2
work=$(cd "$work" && pwd)

srcs=() csrcs=() cxxsrcs=()
for f in "$prog_dir"/*.c "$prog_dir"/*.cc "$prog_dir"/*.cpp; do
    [ -e "$f" ] || continue
    srcs+=("$f")
    case $f in *.c) csrcs+=("$f") ;; *) cxxsrcs+=("$f") ;; esac
done
[ ${#srcs[@]} -gt 0 ] || { echo "compare.sh: no .c/.cc/.cpp files in $prog_dir" >&2; exit 2; }
objs=()
for f in "${srcs[@]}"; do b=${f##*/}; objs+=("${b%.*}.o"); done
read -r -a prog_args <<<"$args"
read -r -a extra_cflags <<<"$cflags"
read -r -a link_libs <<<"$libs"

# cxx_for CC — the C++ compiler that goes with the C compiler CC.
cxx_for() {
    local b=${1##*/} cxx
    case $b in
    gcc*) cxx=g++${b#gcc} ;;
    clang*) cxx=clang++${b#clang} ;;
    *) cxx=c++ ;;
    esac
    command -v "$cxx" || echo "$cxx"
}

ulimit -c 0 2>/dev/null   # aborting programs must not leave core files

variant_flags() {
    case $1 in
    pie) echo "" ;;
    pic) echo "-fPIC" ;;
    nopic) echo "-fno-pic" ;;
    debug) echo "-g" ;;
    sections) echo "-ffunction-sections -fdata-sections" ;;
    esac
}

# run_one CC OPT VARIANT — prints one line; returns 0 when the runs agree.
run_one() {
    local cc=$1 opt=$2 variant=$3 dir flags ldflags st_native st_rivet
    dir=$work/$(basename "$cc")$opt-$variant
    rm -rf "$dir" && mkdir -p "$dir" || return 2
    read -r -a flags <<<"$opt $(variant_flags "$variant")"
    ldflags=()
    [ "$variant" = nopic ] && ldflags=(-no-pie)
    local label="$(basename "$cc") $opt $variant" cxx linker=$cc
    cxx=$(cxx_for "$cc")
    [ ${#cxxsrcs[@]} -gt 0 ] && linker=$cxx
    if ! (cd "$dir" &&
            { [ ${#csrcs[@]} = 0 ] ||
              "$cc" "${flags[@]}" "${extra_cflags[@]}" -c "${csrcs[@]}"; } &&
            { [ ${#cxxsrcs[@]} = 0 ] ||
              "$cxx" "${flags[@]}" "${extra_cflags[@]}" -c "${cxxsrcs[@]}"; } &&
            "$linker" "${ldflags[@]}" "${objs[@]}" "${link_libs[@]}" -o prog) \
            >"$dir/build.log" 2>&1; then
        echo "FAIL $label: native build failed:"; sed 's/^/  /' "$dir/build.log"
        return 1
    fi
    (cd "$dir" && exec env "${envs[@]}" timeout -k 5 60 \
        bash -c 'exec -a prog ./prog "$@"' prog "${prog_args[@]}") \
        >"$dir/native.out" 2>"$dir/native.err" </dev/null
    st_native=$?
    if [ -n "$want_status" ] && [ "$st_native" != "$want_status" ]; then
        echo "FAIL $label: native exit $st_native, expected $want_status"
        return 1
    fi
    local kind bad=0
    for kind in ${RIVET_EXECUTORS:-in-process}; do
        compare_rivet "$kind" || bad=1
    done
    return $bad
}

# run_over_tcp OUT ERR — start `rivet-executor --listen 127.0.0.1:0 --once`,
# run the program in it with --executor=tcp:, and leave the program's
# output (which is the executor's) in OUT and ERR; sets st_rivet.
run_over_tcp() {
    local out=$1 err=$2 listener_err=$dir/listener.err port="" i
    "$(dirname "$rivet")/rivet-executor" --listen 127.0.0.1:0 --once \
        >"$out" 2>"$listener_err" </dev/null &
    local listener=$!
    for i in $(seq 500); do
        port=$(sed -n 's/^rivet-executor: listening on .* port \([0-9]*\)$/\1/p' \
               "$listener_err")
        [ -n "$port" ] && break
        sleep 0.01
    done
    if [ -z "$port" ]; then
        kill "$listener" 2>/dev/null
        echo "rivet-executor did not listen" >"$err"
        st_rivet=125
        return
    fi
    (cd "$dir" && exec env "${envs[@]}" timeout -k 5 60 \
        "$rivet" run --executor="tcp:127.0.0.1:$port" --argv0 prog "${objs[@]}" \
            "${link_libs[@]}" -- "${prog_args[@]}") \
        >>"$out" 2>"$dir/controller.err" </dev/null
    st_rivet=$?
    wait "$listener"
    grep -v '^rivet-executor: listening on ' "$listener_err" >"$err"
    cat "$dir/controller.err" >>"$err"
}

# compare_rivet EXECUTOR — run under rivet with --executor=EXECUTOR and
# compare with the native run (uses run_one's locals). EXECUTOR "tcp" is a
# `rivet-executor --listen` started for the run.
compare_rivet() {
    local kind=$1 suffix="" bad=0
    [ "$kind" = in-process ] || suffix=".$kind"
    local out=$dir/rivet$suffix.out err=$dir/rivet$suffix.err
    if [ "$kind" = tcp ]; then
        run_over_tcp "$out" "$err"
    else
        (cd "$dir" && exec env "${envs[@]}" timeout -k 5 60 \
            "$rivet" run --executor="$kind" --argv0 prog "${objs[@]}" "${link_libs[@]}" \
                -- "${prog_args[@]}") \
            >"$out" 2>"$err" </dev/null
        st_rivet=$?
    fi
    [ "$st_native" = "$st_rivet" ] || bad=1
    cmp -s "$dir/native.out" "$out" || bad=1
    cmp -s "$dir/native.err" "$err" || bad=1
    local lbl=$label
    [ "$kind" = in-process ] || lbl="$label --executor=$kind"
    if [ $bad = 0 ]; then
        echo "ok   $lbl (exit $st_native)"
        return 0
    fi
    echo "FAIL $lbl: native exit $st_native, rivet exit $st_rivet"
    echo "  rivet run --executor=$kind --argv0 prog ${objs[*]} ${link_libs[*]} -- ${prog_args[*]}   (in $dir)"
    diff -u --label native.stdout --label rivet.stdout \
        "$dir/native.out" "$out" | head -40 | sed 's/^/  /'
    diff -u --label native.stderr --label rivet.stderr \
        "$dir/native.err" "$err" | head -40 | sed 's/^/  /'
    return 1
}

if [ ${#only[@]} -gt 0 ]; then
    configs=("${only[@]}")
elif [ "${E2E_MATRIX:-}" = quick ]; then
    configs=("gcc -O0 pie")
else
    configs=()
    for cc in gcc clang-14; do
        for opt in -O0 -O2; do
            for variant in pie pic nopic debug sections; do
                configs+=("$cc $opt $variant")
            done
        done
    done
fi

failed=0
for c in "${configs[@]}"; do
    read -r cc opt variant <<<"$c"
    run_one "$(command -v "$cc" || echo "$cc")" "$opt" "$variant" || failed=$((failed + 1))
done
echo "$(basename "$prog_dir"): $((${#configs[@]} - failed)) of ${#configs[@]} configurations agree"
[ $failed = 0 ]
