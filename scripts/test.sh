#!/bin/sh
# Builds and runs the whole test suite: optimised, then under AddressSanitizer +
# UndefinedBehaviorSanitizer, then each libFuzzer target for a short fixed time. Fails on the
# first failing suite.
set -eu
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release --output-on-failure
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan --output-on-failure
./scripts/fuzz.sh "${VMSPACE_FUZZ_SECONDS:-30}"
echo "test: all suites passed (release, asan, fuzz)"
