#!/bin/sh
# examples/demo/run.sh BUILD_DIR — compile the calc demo into objects and run
# them with rivet, without a link step: `cc -c`, then `rivet run`.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
rivet=$(cd "$build" && pwd)/bin/rivet
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rivet-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Print a command the way it could be typed (quoting arguments with spaces
# or shell characters), then run it.
show() {
    line='$'
    for a in "$@"; do
        case $a in
        *[!A-Za-z0-9_./=+-]*) line="$line '$a'" ;;
        *) line="$line $a" ;;
        esac
    done
    echo "$line"
    "$@"
}

cd "$tmp"
show "$cc" -O2 -c "$here/lexer.c" "$here/parser.c" "$here/main.c"
status=0
show "$rivet" run main.o lexer.o parser.o -- \
    "1 + 2 * 3" "(1 + 2) * 3" "2 ^ 3 ^ 2" "ans / 8" "-ans % 7" "7 / (3 - 3)" \
    || status=$?
echo "(exit status $status: the number of expressions that failed)"
[ "$status" -eq 1 ]
