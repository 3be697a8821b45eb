#!/bin/sh
# tests/fuzz/run.sh OUTDIR — build rivet's libFuzzer targets with clang-14
# (ASan + UBSan + fuzzer coverage) into OUTDIR and run each for a while:
#
#   fuzz_elf   rivet_jit_add_buffer + rivet_jit_link on mutated objects
#              (seeded with objects compiled from tests/e2e and examples,
#              and a few archives of them)
#   fuzz_sps   every rivet_sps_get_* on random bytes
#   fuzz_frame the wire's frame and setup decoders, and a channel reading
#              the bytes from a peer (seeded with a few valid frames)
#   fuzz_eh_frame  the .eh_frame re-encoding for functions at a 4 GiB
#              boundary on sections at addresses the input chooses (seeded
#              with a few compiler-shaped sections)
#   fuzz_json  the memory map's JSON controller interface on arbitrary
#              requests (seeded with one request of each kind)
#   fuzz_ci    the SPS controller interface's request decoders (memory map,
#              dylib lookup, symbol info, TLS) on arbitrary payloads
#
# Closes with "fuzz: N passed, M failed" (one per target). The corpus is kept
# in OUTDIR/corpus-* between runs; a crash leaves OUTDIR/crash-* and prints
# how to reproduce it. FUZZ_ELF_SECONDS / FUZZ_SPS_SECONDS / FUZZ_FRAME_SECONDS
# / FUZZ_EH_FRAME_SECONDS / FUZZ_JSON_SECONDS / FUZZ_CI_SECONDS change the
# times.
set -u
out=${1:-build-fuzz}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd)
clang=${FUZZ_CC:-clang-14}
elf_seconds=${FUZZ_ELF_SECONDS:-30}
sps_seconds=${FUZZ_SPS_SECONDS:-10}
frame_seconds=${FUZZ_FRAME_SECONDS:-10}
eh_frame_seconds=${FUZZ_EH_FRAME_SECONDS:-10}
json_seconds=${FUZZ_JSON_SECONDS:-10}
ci_seconds=${FUZZ_CI_SECONDS:-10}

fail_all() {
    echo "fuzz: $1"
    echo "fuzz: 0 passed, 6 failed"
    exit 1
}
command -v "$clang" >/dev/null 2>&1 || fail_all "$clang not found (run scripts/install-deps.sh)"

cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fPIC -fno-omit-frame-pointer
 -fsanitize=address,undefined -fno-sanitize-recover=undefined
 -I$root/include -I$root/src"

# --- build the library objects (all of src/ except the tools), incrementally:
# an object is rebuilt when its source or any header is newer.
newest_header=$(find "$root/include" "$root/src" -name '*.h' -newer "$out/.stamp" 2>/dev/null | head -1)
[ -f "$out/.stamp" ] || newest_header=all
# The library sources are what the Makefile builds into librivet and
# librivet-rt (all of src/ but the tools); ask make, so the list lives in one
# place, and fall back to every .c outside src/tools.
srcs=$(cd "$root" && make -s --no-print-directory \
        --eval='print-fuzz-srcs: ; @echo $(RT_SRC) $(LIB_SRC)' print-fuzz-srcs 2>/dev/null) ||
    srcs=$(cd "$root" && find src -name '*.c' ! -path 'src/tools/*' | sort)
[ -n "$srcs" ] || fail_all "no library sources under src/"
todo=""
objs=""
for s in $srcs; do
    o=$out/obj/${s%.c}.o
    objs="$objs $o"
    if [ -n "$newest_header" ] || [ ! -f "$o" ] || [ "$root/$s" -nt "$o" ]; then
        todo="$todo $s"
    fi
done
touch "$out/.stamp.new"
if [ -n "$todo" ]; then
    echo "fuzz: compiling$(echo "$todo" | wc -w | tr -d ' ') sources with $clang"
    # shellcheck disable=SC2086
    if ! printf '%s\n' $todo | (cd "$root" && xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} \
            sh -c 'mkdir -p "$(dirname "$1/obj/$2")" &&
                   exec "$3" $4 -fsanitize=fuzzer-no-link -c "$2" -o "$1/obj/${2%.c}.o"' \
            sh "$out" {} "$clang" "$cflags"); then
        fail_all "library build failed"
    fi
fi
mv "$out/.stamp.new" "$out/.stamp"

for t in fuzz_elf fuzz_sps fuzz_frame fuzz_eh_frame fuzz_json fuzz_ci; do
    # shellcheck disable=SC2086
    "$clang" $cflags -fsanitize=fuzzer "$root/tests/fuzz/$t.c" $objs \
        -pie -rdynamic -ldl -lpthread -o "$out/$t" || fail_all "$t build failed"
done

# --- seeds for fuzz_elf: small objects from gcc and clang at two levels.
seeds=$out/seeds-elf
rm -rf "$seeds" && mkdir -p "$seeds"
i=0
for src in "$root"/tests/e2e/*/*.c "$root"/examples/demo/*.c; do
    for cfg in "gcc -O0" "gcc -O2 -fPIC" "$clang -O1" "$clang -O2 -fno-pic"; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        $cfg -c -w "$src" -o "$seeds/seed$i.o" 2>/dev/null || rm -f "$seeds/seed$i.o"
    done
done
# C++ objects (COMDAT groups, .eh_frame with LSDAs, .init_array), one
# configuration each: C++ compiles are slow.
for src in "$root"/tests/e2e/cxx_*/*.cc; do
    [ -e "$src" ] || continue
    i=$((i + 1))
    g++ -O1 -c -w "$src" -o "$seeds/seed$i.o" 2>/dev/null || rm -f "$seeds/seed$i.o"
done
if [ -d "$root/tests/lit/malformed/Inputs" ]; then
    for s in "$root"/tests/lit/malformed/Inputs/*.s; do
        /usr/lib/llvm-14/bin/llvm-mc -filetype=obj -triple=x86_64-linux-gnu \
            "$s" -o "$seeds/$(basename "$s" .s).o" 2>/dev/null
    done
fi
# Keep seeds small enough for a quick start.
find "$seeds" -name '*.o' -size +64k -delete
# A few archives (GNU with a "//" long-name table, BSD, GNU without an
# index): an archive alone pulls no member, so these exercise the header,
# name and symbol-index readers.
ar_tool=/usr/lib/llvm-14/bin/llvm-ar
a1=$(ls "$seeds"/seed*.o 2>/dev/null | head -1)
a2=$(ls "$seeds"/seed*.o 2>/dev/null | sed -n 2p)
if [ -x "$ar_tool" ] && [ -n "$a1" ] && [ -n "$a2" ]; then
    cp "$a1" "$seeds/a_member_with_a_long_name.o"
    (cd "$seeds" && "$ar_tool" rcs --format=gnu archive-gnu.ar a_member_with_a_long_name.o "$(basename "$a2")" &&
        "$ar_tool" rcs --format=bsd archive-bsd.ar a_member_with_a_long_name.o "$(basename "$a2")" &&
        "$ar_tool" rcS --format=gnu archive-noindex.ar "$(basename "$a2")") 2>/dev/null
    find "$seeds" -name '*.ar' -size +64k -delete
fi

passed=0 failed=0
run_target() { # NAME SECONDS MAX_LEN SEED_DIR...
    name=$1 secs=$2 max_len=$3
    shift 3
    corpus=$out/corpus-$name
    mkdir -p "$corpus"
    log=$out/$name.log
    echo "fuzz: $name for ${secs}s"
    if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
       "$out/$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
            -rss_limit_mb=4096 -print_final_stats=1 \
            -artifact_prefix="$out/crash-$name-" "$corpus" "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" |
            sed "s/^/fuzz: $name /"
    else
        failed=$((failed + 1))
        echo "fuzz: $name FAILED; log $log:"
        grep -E -A40 '^==[0-9]+==|runtime error|deadly signal|Test unit written' "$log" | head -80
        echo "fuzz: reproduce with: $out/$name $out/crash-$name-*"
    fi
}
run_target fuzz_elf "$elf_seconds" 65536 "$seeds"
run_target fuzz_sps "$sps_seconds" 4096
# seeds for fuzz_frame: a call, a result, a hangup with a reason
fseeds=$out/seeds-frame
mkdir -p "$fseeds"
printf '\002\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0\020\0\0\0\0\0\0\0\002\0\0\0\0\0\0\0ab' >"$fseeds/call"
printf '\003\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0\001\0\0\0\0\0\0\0x' >"$fseeds/result"
printf '\004\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\003\0\0\0\0\0\0\0bye' >"$fseeds/hangup"
run_target fuzz_frame "$frame_seconds" 4096 "$fseeds"
# seeds for fuzz_eh_frame: an address (8 bytes, 64 bytes below a 4 GiB
# boundary), then a section whose FDE's function is at the boundary ("zR",
# and "zPLR" with personality slot and LSDA), and one whose is not
eseeds=$out/seeds-eh_frame
mkdir -p "$eseeds"
base='\300\377\377\377\377\057\000\000'
zplr_cie='\034\000\000\000\000\000\000\000\001zPLR\000\001x\020\007\233\355\017\000\000\033\033\014\007\010\220\001\000\000'
insns='A\016\020\206\002C\015\006\000\000\000\000\000\000\000'
printf "$base"'\024\000\000\000\000\000\000\000\001zR\000\001x\020\001\033\014\007\010\220\001\000\000\030\000\000\000\034\000\000\000\040\000\000\000\100\000\000\000\000'"$insns" >"$eseeds/hidden-zr"
printf "$base$zplr_cie"'\034\000\000\000\044\000\000\000\030\000\000\000\100\000\000\000\004\317\020\000\000'"$insns" >"$eseeds/hidden-zplr"
printf "$base$zplr_cie"'\034\000\000\000\044\000\000\000X\000\000\000\100\000\000\000\004\317\020\000\000'"$insns" >"$eseeds/plain-zplr"
run_target fuzz_eh_frame "$eh_frame_seconds" 4096 "$eseeds"
# seeds for fuzz_json: one request of each kind ("@" the instance, "$" a slab)
jseeds=$out/seeds-json
mkdir -p "$jseeds"
printf '\000{"instance": @, "size": 8192, "placement": 1}' >"$jseeds/reserve"
printf '\001{"instance": @, "segments": [{"addr": $, "size": 4096, "prot": 5, "content": "c3"}], "actions": [{"dealloc": {"arg": "00"}}]}' >"$jseeds/initialize"
printf '\002{"instance": @, "addrs": [$, 1]}' >"$jseeds/deinitialize"
printf '\003{"instance": @, "addrs": [$]}' >"$jseeds/release"
run_target fuzz_json "$json_seconds" 4096 "$jseeds"
# seeds for fuzz_ci: reserve, initialize (one segment, one action pair),
# deinitialize and release of the input's slab ("@" x8 the instance, "$" x8
# the slab; numbers little-endian)
cseeds=$out/seeds-ci
mkdir -p "$cseeds"
inst='@@@@@@@@' slab='$$$$$$$$' one='\001\000\000\000\000\000\000\000'
printf '\000'"$inst"'\000\040\000\000\000\000\000\000\001' >"$cseeds/reserve"
printf '\001'"$inst$one"'\001\000'"$slab"'\000\020\000\000\000\000\000\000\003\000\000\000\000\000\000\000abc'"$one"'\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' >"$cseeds/initialize"
printf '\002'"$inst$one$slab" >"$cseeds/deinitialize"
printf '\003'"$inst$one$slab" >"$cseeds/release"
printf '\004'"$inst"'\000\000\000\000\000\000\000\000'"$one"'\004\000\000\000\000\000\000\000puts' >"$cseeds/lookup"
run_target fuzz_ci "$ci_seconds" 4096 "$cseeds"

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
