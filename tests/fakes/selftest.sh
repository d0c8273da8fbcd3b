#!/bin/sh
# Runs the fakes' self-test (tests/fakes/selftest.py); exits 77 (skip)
# when python3 is not installed.
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skipped"; exit 77; }
exec python3 "$(dirname "$0")/selftest.py"
