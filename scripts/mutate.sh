#!/bin/sh
# Mutation testing: how many one-line semantic mutants of the core (tests/mutants/mutants.ini)
# the example tests and the differential test's seeds kill. Needs a built-once toolchain
# (scripts/setup.sh); works in a private git worktree of HEAD, so commit first.
# Usage: scripts/mutate.sh [--seeds N] [--only NAME,...] [--keep]
exec python3 "$(dirname "$0")/mutate.py" "$@"
