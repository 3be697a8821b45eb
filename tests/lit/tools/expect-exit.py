#!/usr/bin/env python3
"""expect-exit STATUS CMD... — run CMD; succeed only if it exits with STATUS.

STATUS is a number (the exit status) or a signal name such as SIGABRT (the
command must die by that signal). Output passes through unchanged.
"""
import signal
import subprocess
import sys

if len(sys.argv) < 3:
    sys.exit('usage: expect-exit STATUS CMD...')
want = sys.argv[1]
rc = subprocess.call(sys.argv[2:])
if want.startswith('SIG'):
    ok = rc < 0 and signal.Signals(-rc).name == want
else:
    ok = rc == int(want)
if not ok:
    got = ('signal %s' % signal.Signals(-rc).name) if rc < 0 else str(rc)
    sys.stderr.write('expect-exit: wanted %s, got %s from %s\n'
                     % (want, got, ' '.join(sys.argv[2:])))
    sys.exit(1)
