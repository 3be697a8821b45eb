#!/bin/sh
# tests/run-lit.sh BUILD_DIR — run the lit suite (tests/lit) against
# BUILD_DIR/bin/rivet and close with "lit: N passed, M failed".
#
# Extra lit arguments can be given in LIT_ARGS (e.g. LIT_ARGS="--filter reloc").
# The tests mostly wait on compilers and process start-up, so lit runs two
# workers per CPU; LIT_JOBS=N overrides that.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
lit=/usr/lib/llvm-14/build/utils/lit/lit.py
if [ ! -f "$lit" ]; then
    echo "run-lit: $lit not found (run scripts/install-deps.sh)" >&2
    echo "lit: 0 passed, 1 failed"
    exit 1
fi
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
mkdir -p "$build/lit"
results=$build/lit/results.json
rm -f "$results"

# Programs that abort must not leave core files (or slow the suite).
ulimit -c 0 2>/dev/null || true

# shellcheck disable=SC2086
cpus=$(nproc 2>/dev/null || echo 2)
python3 "$lit" -sv -j"${LIT_JOBS:-$((cpus * 2))}" --param rivet_build="$build" -o "$results" \
    ${LIT_ARGS:-} "$here/lit"
rc=$?

# Count from lit's JSON report, which is stable across lit versions.
python3 - "$results" "$rc" <<'PY'
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
try:
    tests = json.load(open(path))['tests']
except (OSError, ValueError, KeyError):
    tests = []
# An expected failure documents a known gap; it is not counted as a pass.
bad = {'FAIL', 'XPASS', 'UNRESOLVED', 'TIMEOUT'}
passed = sum(t['code'] == 'PASS' for t in tests)
failed = sum(t['code'] in bad for t in tests)
skipped = sum(t['code'] in ('XFAIL', 'UNSUPPORTED', 'SKIPPED', 'EXCLUDED')
              for t in tests)
if rc != 0 and failed == 0:
    failed = 1  # lit itself failed (bad config, no tests found, ...)
line = 'lit: %d passed, %d failed' % (passed, failed)
if skipped:
    line += ', %d skipped' % skipped
print(line)
sys.exit(1 if failed else 0)
PY
