#!/bin/sh
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each for SECONDS (default 60) on its seed corpus in tests/fuzz/corpus/TARGET, keeping what
# it finds in build/fuzz/work/TARGET. Fails on the first crash, sanitizer report, leak,
# timeout or broken invariant (the input is kept as build/fuzz/work/TARGET-crash-*).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     targets: script trace strace exec
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-script trace strace exec}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
work=build/fuzz/work
mkdir -p "$work"
status=0
for t in $targets; do
  mkdir -p "$work/$t"
  log="$work/$t.log"
  if ./build/fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/$t-" \
       "$work/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $t: ${runs:-?} inputs in ${secs}s, nothing found"
  else
    echo "fuzz $t: FAILED (see $log):"
    grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|validate|deadly signal|timeout' "$log" | head -20
    status=1
  fi
done
exit $status
