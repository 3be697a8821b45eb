#!/usr/bin/env python3
"""Time commands side by side: alternate them, N runs each, report medians
and each one's ratio to the first.

usage: compare.py --runs N --label NAME -- CMD... [--label NAME -- CMD...]
Each command must exit 0 (a failing peer is reported, not timed).
"""
import statistics
import subprocess
import sys
import time

def parse(argv):
    runs, cmds, i = 7, [], 0
    while i < len(argv):
        if argv[i] == "--runs":
            runs = int(argv[i + 1]); i += 2
        elif argv[i] == "--label":
            label = argv[i + 1]
            assert argv[i + 2] == "--"
            j = i + 3
            while j < len(argv) and argv[j] != "--label":
                j += 1
            cmds.append((label, argv[i + 3:j])); i = j
        else:
            raise SystemExit(f"compare.py: unexpected {argv[i]}")
    return runs, cmds

def run_once(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, shell=len(cmd) == 1)
    return time.perf_counter() - t0, p

def main():
    runs, cmds = parse(sys.argv[1:])
    times = {label: [] for label, _ in cmds}
    failed = {}
    for _ in range(runs):
        for label, cmd in cmds:
            if label in failed:
                continue
            dt, p = run_once(cmd)
            if p.returncode != 0:
                failed[label] = p.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            times[label].append(dt)
    base = statistics.median(times[cmds[0][0]])
    for label, _ in cmds:
        if label in failed:
            print(f"  {label:<34} cannot run it: {failed[label][0][:100]}")
            continue
        m = statistics.median(times[label])
        print(f"  {label:<34} {m * 1000:9.2f} ms   {m / base:7.2f}x")

if __name__ == "__main__":
    main()
