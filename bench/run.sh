#!/bin/sh
# bench/run.sh BUILD — every side-by-side comparison (make bench). Each
# part prints medians and ratios to the first line of its table.
BUILD=${1:-build}
cd "$(dirname "$0")/.."
for part in link realworld engine oop; do
    if [ -f "bench/$part.sh" ]; then
        echo "== $part"
        sh "bench/$part.sh" "$BUILD" || echo "bench/$part.sh failed"
    fi
done
