#!/bin/sh
# scripts/install-deps.sh — install what rivet's tests and benchmarks need
# beyond a stock Debian 12 machine with gcc, clang-14 and llvm-14.
#
# Idempotent and quiet: it only calls apt-get (one update, one install) when a
# package is actually missing. Works as root without a terminal (CI); as
# another user it uses sudo -n when that is available.
set -eu

LLVM=/usr/lib/llvm-14

# Debian packages the suite needs (libFuzzer + sanitizer runtimes, static
# archives for the library tests, tcc and hyperfine for bench/).
PKGS="libclang-rt-14-dev libsqlite3-dev zlib1g-dev libbz2-dev libexpat1-dev
libssl-dev tcc hyperfine"

# llvm-14 tools: FileCheck, not, split-file, yaml2obj come from llvm-14-tools;
# llvm-mc and llvm-objdump from llvm-14.
for tool in FileCheck not split-file yaml2obj; do
    [ -x "$LLVM/bin/$tool" ] || PKGS="$PKGS llvm-14-tools"
done
for tool in llvm-mc llvm-objdump; do
    [ -x "$LLVM/bin/$tool" ] || PKGS="$PKGS llvm-14"
done

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=""
for p in $PKGS; do
    case " $missing " in *" $p "*) continue ;; esac
    is_installed "$p" || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install-deps: missing:$missing (run as root to install)" >&2
        exit 1
    fi
    echo "install-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    # shellcheck disable=SC2086
    if ! { $SUDO apt-get update -qq &&
           $SUDO apt-get install -y -qq --no-install-recommends $missing; } \
           </dev/null >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "install-deps: apt-get failed" >&2
        exit 1
    fi
    rm -f "$log"
fi

# lit ships with llvm-14's build tree; nothing to install, only check.
if [ ! -f "$LLVM/build/utils/lit/lit.py" ]; then
    echo "install-deps: $LLVM/build/utils/lit/lit.py not found (package llvm-14-tools?)" >&2
    exit 1
fi
command -v python3 >/dev/null 2>&1 || {
    echo "install-deps: python3 not found" >&2
    exit 1
}
exit 0
