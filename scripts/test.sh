#!/bin/sh
# Builds and runs the whole test suite twice: optimised, and under AddressSanitizer +
# UndefinedBehaviorSanitizer. Fails on the first failing test suite.
set -eu
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release --output-on-failure
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan --output-on-failure
echo "test: all suites passed (release and asan)"
