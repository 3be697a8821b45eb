#!/bin/sh
# Run every unit test binary in BUILD_DIR/tests/unit, print each one's
# result line and a closing "unit: N passed, M failed" (N and M count
# binaries); exit nonzero if any failed.
set -u
build=${1:-build}
dir="$build/tests/unit"
passed=0
failed=0
if [ ! -d "$dir" ]; then
    echo "run-unit.sh: no directory $dir (build the unit tests first)" >&2
    echo "unit: 0 passed, 0 failed"
    exit 1
fi
for t in "$dir"/*; do
    case "$t" in *.d|*.o) continue ;; esac
    [ -f "$t" ] && [ -x "$t" ] || continue
    name=$(basename "$t")
    if out=$("$t" 2>&1); then
        passed=$((passed + 1))
        printf '%s\n' "$out" | tail -n 1
    else
        status=$?
        failed=$((failed + 1))
        printf '%s\n' "$out"
        echo "FAIL: $name (exit status $status)"
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
