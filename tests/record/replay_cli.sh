#!/bin/sh
# `vmspace replay` on hand-written traces: statement order around strace's unfinished forks,
# exit statuses (0 identical, 1 divergence, 2 bad input) and the reports.
# Usage: replay_cli.sh VMSPACE WORKDIR
set -u
V=$1
W=$2
rm -rf "$W" && mkdir -p "$W" || exit 2
fail=0
check() {  # NAME EXPECTED-STATUS PATTERN FILE ARGS...
  name=$1 want=$2 pattern=$3 out=$4
  shift 4
  "$V" replay "$@" > "$W/$name.out" 2>&1
  got=$?
  if [ "$got" -ne "$want" ] || ! grep -q -- "$pattern" "$W/$name.out"; then
    echo "FAIL  $name: status $got (want $want), output:"
    sed 's/^/      /' "$W/$name.out"
    fail=$((fail + 1))
  else
    echo "ok    $name: $(grep -m1 -- "$pattern" "$W/$name.out")"
  fi
}
# The child's calls come before the fork's result; they must run after the fork.
cat > "$W/fork.strace" <<'T'
100 mmap(0x10000000, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x10000000
100 fork( <unfinished ...>
101 munmap(0x10000000, 4096) = 0
101 mmap(0x20000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x20000000
100 <... fork resumed>) = 101
100 munmap(0x10001000, 4096 <unfinished ...>
101 @maps {
10001000-10002000 r--p 00000000 00:00 0
20000000-20001000 r--p 00000000 00:00 0
7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0                          [vvar]
7ffff7ffb000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
}
101 exit_group(0) = ?
100 <... munmap resumed>) = 0
100 @maps {
10000000-10001000 r--p 00000000 00:00 0
7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0                          [vvar]
7ffff7ffb000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
}
+++ exited with 0 +++
T
check fork_order 0 "5/5 calls identical, 2/2 checkpoints identical" x "$W/fork.strace"
# A result that differs: exit 1, the first divergence with its location and the lines before.
sed 's/^101 munmap(0x10000000, 4096) = 0/101 munmap(0x10000000, 4096) = -1 EINVAL (Invalid argument)/' \
  "$W/fork.strace" > "$W/differ.strace"
check differ 1 "differ.strace:3:.*mismatch: expected -1 EINVAL" x "$W/differ.strace"
check differ_context 1 "  2: 100 fork( <unfinished" x "$W/differ.strace"
check differ_json 1 '"identical": false, "calls": 5, "calls_identical": 4' x --json "$W/differ.strace"
# Bad input after calls that ran: exit 2 with file:line:column, whatever ran before.
{ head -5 "$W/fork.strace"; echo '100 mmap(NULL, 4096, PROT_BOGUS, MAP_PRIVATE, -1, 0) = 0x1000'; } \
  > "$W/bad.strace"
check bad_constant 2 "bad.strace:6:22: unknown constant 'PROT_BOGUS'" x "$W/bad.strace"
printf '1 munmap(0x1000, 4096) = 0\n1 munmap($x, 4096) = 0\n' > "$W/unbound.trace"
check unbound 2 'unbound.trace:2:.*\$x is used before it is bound' x "$W/unbound.trace"
printf '1 munmap(0x1000, 4096) = 0\n1 <... mmap resumed>) = 0x1000\n' > "$W/resumed.trace"
check resumed_alone 2 "resumed.trace:2:3: resumed call without an unfinished start" x \
  "$W/resumed.trace"
# A thread killed inside a call by another thread's exit_group: strace ends the call with
# "= ?" after the exit_group; the replay has nothing left to run it on and goes on.
cat > "$W/killed.strace" <<'T'
100 mmap(0x10000000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x10000000
100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f15f5675990, parent_tid=0x7f15f5675990, exit_signal=0, stack=0x7f15f4e75000, stack_size=0x7fff80, tls=0x7f15f56756c0} => {parent_tid=[101]}, 88) = 101
101 madvise(0x10000000, 8192, MADV_DONTNEED <unfinished ...>
100 munmap(0x10000000, 4096) = 0
100 exit_group(0) = ?
101 <... madvise resumed>) = ?
101 +++ exited with 0 +++
100 +++ exited with 0 +++
T
check killed_in_call 0 "3/3 calls identical" x "$W/killed.strace"
check missing 2 "nothing.trace:1:1: cannot read: No such file or directory" x "$W/nothing.trace"
echo "replay-cli: $fail failed"
[ "$fail" -eq 0 ]
