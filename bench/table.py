#!/usr/bin/env python3
"""Print a hyperfine JSON export as medians and ratios to the first command
(the same table bench/compare.py prints)."""
import json
import sys

results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
for r in results:
    if r.get("exit_codes") and any(r["exit_codes"]):
        print(f"  {r['command']:<34} cannot run it (exit status {max(r['exit_codes'])})")
        continue
    print(f"  {r['command']:<34} {r['median'] * 1000:9.2f} ms   "
          f"{r['median'] / base:7.2f}x  (median of {len(r['times'])})")
