#!/bin/sh
# The hostile-input regression suite: scripts and traces written the way an attacker who hands
# someone a trace would write them (escapes through links, "..", /proc, descriptors and working
# directories; host reads in replays; devices and FIFOs; input that could crash, hang or
# exhaust the host), each run with `vmspace run`, `vmspace replay` and `vmspace replay
# --strace` next to a canary directory. Every run must end by itself with exit status 0, 1 or
# 2; afterwards the canary must be byte- and mode-identical and no sandbox may remain.
# Usage: run.sh VMSPACE WORKDIR [as-cap]   (as-cap: run under a 4 GiB address-space limit)
set -u
V=$(realpath "$1")
W=$2
AS_CAP=${3:-}
CASES=$(dirname "$0")/cases
rm -rf "$W" && mkdir -p "$W/outside/canary/sub" "$W/tmp" "$W/cases" "$W/out" || exit 2
W=$(realpath "$W")
CANARY=$W/outside/canary
printf 'secret\n' > "$CANARY/victim" && chmod 600 "$CANARY/victim"
printf 'inner\n' > "$CANARY/sub/inner"
ln -s victim "$CANARY/link"
printf 'sibling\n' > "$W/outside/sibling"
manifest() {
  (cd "$W/outside" && find . -printf '%p %y %m %s %l\n' | sort &&
   find . -type f -exec sha256sum {} + | sort)
}
manifest > "$W/manifest.before"
export TMPDIR="$W/tmp"
fail=0
n=0

# One vmspace command under the limits: a time limit (a hang fails), and the address-space
# cap when asked.
limited() {
  (
    [ -n "$AS_CAP" ] && ulimit -v 4194304
    exec timeout -s KILL 120 "$@"
  )
}

check() {  # check NAME STATUS OUTFILE
  n=$((n + 1))
  bad=""
  case "$2" in 0|1|2) ;; *) bad="exit status $2" ;; esac
  if grep -qE 'AddressSanitizer|runtime error|internal error|LeakSanitizer' "$3"; then
    bad="$bad; sanitizer or internal error"
  fi
  manifest > "$W/manifest.after"
  if ! cmp -s "$W/manifest.before" "$W/manifest.after"; then
    bad="$bad; the canary changed"
    diff "$W/manifest.before" "$W/manifest.after" | head -10
    # Put it back, so that one failure does not hide the others.
    rm -rf "$W/outside/canary" "$W/outside/sibling"
    mkdir -p "$CANARY/sub" && printf 'secret\n' > "$CANARY/victim" && chmod 600 "$CANARY/victim"
    printf 'inner\n' > "$CANARY/sub/inner" && ln -s victim "$CANARY/link"
    printf 'sibling\n' > "$W/outside/sibling"
  fi
  if [ -n "$(ls -A "$W/tmp")" ]; then
    bad="$bad; a sandbox was left: $(ls -A "$W/tmp" | head -3)"
    rm -rf "$W/tmp"/* "$W/tmp"/.[!.]* 2>/dev/null
  fi
  if [ -n "$bad" ]; then
    echo "FAIL  $1: $bad"
    head -5 "$3" | cut -c1-200 | sed 's/^/      /'
    fail=$((fail + 1))
  fi
}

run_case() {  # run_case NAME FILE
  for mode in run replay strace; do
    out="$W/out/$1.$mode"
    case $mode in
      run) limited "$V" run --max-memory 1G "$2" > "$out" 2>&1 ;;
      replay) limited "$V" replay --max-memory 1G "$2" > "$out" 2>&1 ;;
      strace) limited "$V" replay --max-memory 1G --strace "$2" > "$out" 2>&1 ;;
    esac
    check "$1 ($mode)" $? "$out"
  done
}

for c in "$CASES"/*.vms; do
  name=$(basename "$c" .vms)
  sed "s|@CANARY@|$CANARY|g" "$c" > "$W/cases/$name.vms"
  run_case "$name" "$W/cases/$name.vms"
done

# Generated cases, too large to keep: deep nesting, long expressions, many VMAs and forks,
# many held statements, a deep stand-in tree.
gen() { "$@" > "$W/cases/$name.vms"; run_case "$name" "$W/cases/$name.vms"; }
name=unary_50000; gen awk 'BEGIN { s = ""; for (i = 0; i < 50000; i++) s = s "~"; print "mmap(" s "0, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ?" }'
name=sum_100000; gen awk 'BEGIN { print "$a = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ?"; s = "$a"; for (i = 0; i < 100000; i++) s = s "+$a"; print "munmap(" s ", 4096) = ?" }'
name=parens_5000; gen awk 'BEGIN { a = ""; b = ""; for (i = 0; i < 5000; i++) { a = a "("; b = b ")" }; print "mmap(" a "0" b ", 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ?" }'
name=fork_storm; gen awk 'BEGIN { print "@sysctl vm.max_map_count 1000000"
  for (i = 0; i < 10000; i++) printf "mmap(%#x, 4096, %s, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = ?\n", 268435456 + i * 8192, (i % 2) ? "PROT_READ" : "PROT_READ|PROT_WRITE"
  for (i = 0; i < 2000; i++) print "fork() = ?" }'
name=held_forever; gen awk 'BEGIN { print "1 fork() = 2"; print "1 fork( <unfinished ...>"; for (i = 0; i < 200000; i++) print "2 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ?" }'
name=deep_tree; gen awk 'BEGIN { p = ""; for (i = 0; i < 1900; i++) p = p "/d"; print "@hostfile \"" p "/f\" 10 0100644 fe:00 5 \"" p "/f\"" }'
name=many_variables; gen awk 'BEGIN { for (i = 0; i < 20000; i++) printf "$v%d = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ?\n", i }'

# Sandboxes a user gives (--root) may hold links that lead out.
mkdir -p "$W/userroot"
ln -s "$CANARY/created" "$W/userroot/dangling"
ln -s "$CANARY" "$W/userroot/outdir"
ln -s ../outside/canary/victim "$W/userroot/rel"
cat > "$W/cases/userroot.vms" <<EOF
\$a = open("dangling", O_RDWR|O_CREAT, 0644) = ?
\$b = open("outdir/victim", O_RDWR|O_TRUNC) = ?
\$c = open("rel", O_RDWR|O_TRUNC) = ?
\$d = open("outdir/new", O_RDWR|O_CREAT, 04755) = ?
unlink("outdir/victim") = ?
rename("rel", "outdir/moved") = ?
link("rel", "outdir/hard") = ?
@file outdir/made 10
EOF
out="$W/out/userroot"
limited "$V" run --root "$W/userroot" "$W/cases/userroot.vms" > "$out" 2>&1
check "userroot (run --root)" $? "$out"

# Things that are no scripts.
for what in /tmp /dev/zero /dev/null; do
  out="$W/out/noscript"
  limited "$V" run "$what" > "$out" 2>&1
  st=$?
  check "run $what" $st "$out"
  [ $st -eq 2 ] || { echo "FAIL  run $what: status $st (want 2)"; fail=$((fail + 1)); }
done

# A directive checked before anything runs: the sandbox gets nothing first.
for c in bad_sysctl nofile_infinity; do
  mkdir -p "$W/before"
  limited "$V" run --root "$W/before" "$W/cases/$c.vms" > "$W/out/before" 2>&1
  st=$?
  if [ $st -ne 2 ] || [ -n "$(ls -A "$W/before")" ]; then
    echo "FAIL  $c checked before running: status $st, sandbox holds: $(ls -A "$W/before")"
    fail=$((fail + 1))
  fi
  rm -rf "$W/before"
done

# --json is JSON whatever the bytes of a name.
printf 'mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x1\n' > "$W/cases/bad-$(printf '\377\376')-utf8.trace"
limited "$V" replay --json "$W/cases/bad-$(printf '\377\376')-utf8.trace" > "$W/out/json" 2>&1
if ! python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$W/out/json"; then
  echo "FAIL  --json with a name that is not UTF-8: $(cat "$W/out/json")"
  fail=$((fail + 1))
fi
n=$((n + 1))

# Interrupted runs leave nothing behind.
awk 'BEGIN { for (i = 0; i < 3000000; i++) print "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ?" }' > "$W/cases/long.vms"
for sig in INT TERM HUP; do
  "$V" run "$W/cases/long.vms" > /dev/null 2>&1 &
  pid=$!
  # Wait for the sandbox to exist, then interrupt.
  for _ in $(seq 100); do [ -n "$(ls -A "$W/tmp")" ] && break; sleep 0.1; done
  kill -"$sig" $pid
  wait $pid 2>/dev/null
  n=$((n + 1))
  if [ -n "$(ls -A "$W/tmp")" ]; then
    echo "FAIL  SIG$sig: the sandbox was left"
    rm -rf "$W/tmp"/*
    fail=$((fail + 1))
  fi
done

echo "hostile: $n runs, $fail failed"
[ "$fail" -eq 0 ]
