#!/usr/bin/env python3
"""not [--crash] CMD... — succeed when CMD fails.

Plain form: success only if CMD exited with a non-zero status; a death by
signal is a failure. --crash: success only if CMD died by a signal.
(A stand-in for llvm's `not`, used when that is not installed.)
"""
import subprocess
import sys

args = sys.argv[1:]
crash = bool(args) and args[0] == '--crash'
if crash:
    args = args[1:]
if not args:
    sys.exit('not: missing command')
try:
    rc = subprocess.call(args)
except OSError as e:
    sys.exit('not: %s: %s' % (args[0], e))
if crash:
    sys.exit(0 if rc < 0 else 1)
sys.exit(0 if rc > 0 else 1)
