#!/bin/sh
# Builds and runs the whole test suite: optimised, then under AddressSanitizer +
# UndefinedBehaviorSanitizer, then the concurrency tests under ThreadSanitizer, then each
# libFuzzer target for a short fixed time. Fails on the first failing suite. One tier of a
# build: ctest --preset release -L unit (or diff, e2e, bench, concurrency).
set -eu
cd "$(dirname "$0")/.."
# scripts/setup.sh installed every tool the tests use (strace, gcc, python3, perl, ...): a test
# that would skip for want of one fails instead.
export VMSPACE_REQUIRE_TOOLS=1
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release --output-on-failure
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan --output-on-failure
cmake --preset tsan >/dev/null
cmake --build --preset tsan
ctest --preset tsan --output-on-failure
./scripts/fuzz.sh "${VMSPACE_FUZZ_SECONDS:-30}"
echo "test: all suites passed (release, asan, tsan, fuzz)"
