#!/bin/sh
# Records real programs on the host kernel with `vmspace record` and replays each trace with
# `vmspace replay`: every call and every checkpoint must be identical.
# Usage: record_replay.sh VMSPACE WORKDIR [CC SOURCEDIR]
set -u
V=$(realpath "$1")
W=$2
CC=${3:-cc}
SRC=${4:-$(dirname "$0")}
rm -rf "$W" && mkdir -p "$W" || exit 2
seq 1 6000000 | awk '{ print ($1 * 7919) % 6000011 }' > "$W/numbers.txt"  # about 50 MB
printf 'int f(int x) { return x * 2; }\n' > "$W/small.c"
fail=0
n=0
run() {
  name=$1
  shift
  n=$((n + 1))
  if ! "$V" record -o "$W/$name.trace" -- "$@" > "$W/$name.out" 2> "$W/$name.err"; then
    echo "FAIL  $name: record failed: $(cat "$W/$name.err")"
    fail=$((fail + 1))
    return
  fi
  if "$V" replay "$W/$name.trace" > "$W/$name.replay" 2>&1; then
    echo "ok    $name: $(head -1 "$W/$name.replay") ($(tail -1 "$W/$name.err" | sed 's/^vmspace record: //'))"
  else
    echo "FAIL  $name:"
    head -20 "$W/$name.replay" | cut -c1-300
    fail=$((fail + 1))
  fi
  # The same program through strace (ASLR off, no inherited descriptors: the log cannot show
  # them), replayed from vmspace's ELF loader.
  if [ -n "$STRACE" ] && [ -z "${NO_STRACE_LOG:-}" ]; then
    n=$((n + 1))
    perl -e 'use POSIX; POSIX::close($_) for 3..1023; exec @ARGV or exit 127' \
      setarch -R "$STRACE" -f -o "$W/$name.strace" -e trace=memory,desc,process "$@" \
      > /dev/null 2>&1
    replay_log "$name (strace log)" "$W/$name.strace"
  fi
}
# Replays an strace log; every call must be identical.
replay_log() {
  if "$V" replay --strace --cwd "$(pwd)" "$2" > "$2.replay" 2>&1; then
    echo "ok    $1: $(head -1 "$2.replay")"
  else
    echo "FAIL  $1:"
    head -20 "$2.replay" | cut -c1-300
    fail=$((fail + 1))
  fi
}
STRACE=$(command -v strace || true)
# scripts/test.sh (CI) sets VMSPACE_REQUIRE_TOOLS: scripts/setup.sh installed strace and gcc,
# so a leg that cannot run is a failure there, not a skip.
require() {
  if [ -n "${VMSPACE_REQUIRE_TOOLS:-}" ]; then
    echo "FAIL  $1 is not installed (VMSPACE_REQUIRE_TOOLS is set)"
    fail=$((fail + 1))
  else
    echo "SKIP  the $1 legs ($1 is not installed)"
  fi
}
[ -n "$STRACE" ] || require strace
run ls ls -l /usr/lib
run python3 python3 -c 'a = [list(range(1000)) for i in range(3000)]; del a; b = bytearray(50000000); del b'
run perl perl -e '$x = "a" x 50000000; print length($x), "\n"'
run sort sort -o "$W/sorted.txt" "$W/numbers.txt"
run pipeline sh -c 'ls /usr/lib | wc -l'
run threads python3 -c 'import threading; t = [threading.Thread(target=lambda: bytearray(10**6)) for i in range(4)]; [x.start() for x in t]; [x.join() for x in t]'
# The seed documents' example programs, built from C.
for p in seed_slides seed_manpage seed_passwd faults noncanonical efault credentials sysctl; do
  "$CC" -O2 -o "$W/$p" "$SRC/$p.c" || exit 2
done
printf 'Das ist eine kleine Testdatei.\nSie enthaelt nur zwei Zeilen Text.\n' > "$W/testdatei.txt"
head -c 20000 "$W/numbers.txt" > "$W/datei"
# The slides' program maps ./testdatei.txt: it runs in the work directory.
here=$(pwd)
cd "$W" && run seed_slides "$W/seed_slides"
cd "$here" || exit 2
run seed_manpage "$W/seed_manpage" "$W/datei" 10000 100
run seed_passwd "$W/seed_passwd"
# Opens relative to directory descriptors (du walks a tree with openat(dirfd, name)), a file
# created by the program, and a program started by a relative path.
run du du -s /usr/include
run cp cp "$W/datei" "$W/datei.copy"
cd "$W" && run relative_exec ./seed_passwd
cd "$here" || exit 2
# Names that change under a mapping (rename, link, unlink: maps shows " (deleted)"), an
# O_TMPFILE file, a POSIX semaphore (sem_open links a temporary file in /dev/shm), and a file
# written with write() and then mapped (its stand-in takes the new size).
run names python3 -c '
import mmap, os, tempfile, multiprocessing
w = "'"$W"'"
f = open(w + "/named", "w+b"); f.write(b"x" * 20000); f.flush()
m = mmap.mmap(f.fileno(), 0); os.rename(w + "/named", w + "/renamed"); os.link(w + "/renamed", w + "/linked")
os.unlink(w + "/renamed"); os.unlink(w + "/linked"); m[5] = 65; print(m[19999])
t = tempfile.TemporaryFile(); t.write(b"y" * 10000); t.flush(); n = mmap.mmap(t.fileno(), 0)
s = multiprocessing.Semaphore(2); s.acquire(); s.release()
print(len(n), open("/proc/self/maps").read().count("(deleted)"))'
# Fault signals (SIGSEGV both ways, SIGBUS past the end of a file) must come back the same.
run faults "$W/faults" "$W/fault.dat"
# Non-canonical addresses (SIGSEGV SI_KERNEL, no address in siginfo): recorded with the
# address the faulting instruction used. (No strace log: strace shows only si_addr=NULL.)
NO_STRACE_LOG=1 run noncanonical "$W/noncanonical"
# Path arguments the program cannot read: each call replays with the address, EFAULT again.
run efault "$W/efault"
# Credentials and limits changed mid-run (setresuid to an ordinary user, prlimit64 on a child):
# @cred and the child's @rlimit make its mlock calls fail and succeed as on the kernel. (No
# strace log: its trace classes have no setresuid.)
NO_STRACE_LOG=1 run credentials "$W/credentials"
# A sysctl the program writes (vm.max_map_count, its own value written back: a lower one
# would hit the tests running beside it): @sysctl at the point of the write, and the trace
# must say so. (No strace log: it has no values.)
NO_STRACE_LOG=1 run sysctl "$W/sysctl"
if grep -q "wrote vm.max_map_count: yes" "$W/sysctl.out" &&
   ! grep -q "@sysctl vm.max_map_count $(cat /proc/sys/vm/max_map_count)$" "$W/sysctl.trace"; then
  echo "FAIL  sysctl: the write to vm.max_map_count is not in the trace as @sysctl"
  fail=$((fail + 1))
fi
# A trace replays without the originals of the files it maps: record a program and its data
# file, delete both, replay.
mkdir -p "$W/orig" && cp "$W/seed_manpage" "$W/datei" "$W/orig/"
n=$((n + 1))
if "$V" record -o "$W/deleted.trace" -- "$W/orig/seed_manpage" "$W/orig/datei" 100 5000 \
     > /dev/null 2> "$W/deleted.err"; then
  rm -rf "$W/orig"
  if "$V" replay "$W/deleted.trace" > "$W/deleted.replay" 2>&1; then
    echo "ok    originals deleted before the replay: $(head -1 "$W/deleted.replay")"
  else
    echo "FAIL  originals deleted before the replay:"
    head -20 "$W/deleted.replay" | cut -c1-300
    fail=$((fail + 1))
  fi
else
  echo "FAIL  originals deleted: record failed: $(cat "$W/deleted.err")"
  fail=$((fail + 1))
fi
# A trace keeps no secrets: environment values become 'x' bytes of the same length (the
# replay stays identical); --keep-env keeps them.
n=$((n + 1))
if VMSPACE_TEST_SECRET=correct-horse-battery "$V" record -o "$W/env.trace" -- "$W/seed_passwd" \
     > /dev/null 2> "$W/env.err" &&
   ! grep -q correct-horse "$W/env.trace" &&
   grep -q '"VMSPACE_TEST_SECRET=xxxxxxxxxxxxxxxxxxxxx"' "$W/env.trace" &&
   "$V" replay "$W/env.trace" > "$W/env.replay" 2>&1 &&
   VMSPACE_TEST_SECRET=kept "$V" record --keep-env -o "$W/env-kept.trace" -- "$W/seed_passwd" \
     > /dev/null 2>&1 &&
   grep -q '"VMSPACE_TEST_SECRET=kept"' "$W/env-kept.trace"; then
  echo "ok    environment values redacted: $(head -1 "$W/env.replay")"
else
  echo "FAIL  environment values redacted: $(cat "$W/env.err"; head -5 "$W/env.replay" 2>/dev/null)"
  fail=$((fail + 1))
fi
# Mounts, namespaces and chroot are not modelled: every one that succeeded is marked
# unsupported in the trace, and the replay says so (and fails) instead of diverging later.
n=$((n + 1))
"$CC" -O2 -o "$W/namespaces" "$SRC/namespaces.c" || exit 2
if "$V" record -o "$W/ns.trace" -- "$W/namespaces" "$W/mnt" > "$W/ns.out" 2> "$W/ns.err"; then
  ok=$(tr ' ,=' '\n\n\n' < "$W/ns.out" | grep -c '^0$')
  marked=$(grep -c '# unsupported: \(unshare\|mount\|umount2\|chroot\) = 0' "$W/ns.trace")
  "$V" replay "$W/ns.trace" > "$W/ns.replay" 2>&1
  rc=$?
  # As root (CI) chroot at least succeeds; unprivileged, nothing may, and nothing is marked.
  if [ "$ok" -eq "$marked" ] &&
     { { [ "$ok" -gt 0 ] && [ "$rc" -ne 0 ] &&
         grep -q "^$ok calls in the trace are marked unsupported" "$W/ns.replay"; } ||
       { [ "$ok" -eq 0 ] && [ "$(id -u)" -ne 0 ] && [ "$rc" -eq 0 ]; }; }; then
    echo "ok    namespaces: $(cat "$W/ns.out"), $marked marked unsupported, replay says so"
  else
    echo "FAIL  namespaces: $ok succeeded, $marked marked, replay exit $rc: $(head -3 "$W/ns.replay")"
    fail=$((fail + 1))
  fi
else
  echo "FAIL  namespaces: record failed: $(cat "$W/ns.err")"
  fail=$((fail + 1))
fi
# A recording stopped by a signal (here a timeout's SIGTERM, as Ctrl-C's SIGINT) still leaves
# a replayable trace, ending with "# truncated: SIGTERM"; the replay says it is truncated.
n=$((n + 1))
timeout -s TERM 3 "$V" record -o "$W/killed.trace" -- python3 -c '
import mmap, time
bufs = []
for i in range(10**9):
    m = mmap.mmap(-1, 4096 * (1 + i % 7)); m[0] = 1; bufs.append(m)
    if len(bufs) > 20: bufs.pop(0).close()
    time.sleep(0.002)' > /dev/null 2> "$W/killed.err"
rc=$?
if [ "$rc" -eq 124 ] && [ "$(tail -1 "$W/killed.trace")" = "# truncated: SIGTERM" ] &&
   "$V" replay "$W/killed.trace" > "$W/killed.replay" 2>&1 &&
   grep -q "^the trace is truncated: its recording was stopped by SIGTERM" "$W/killed.replay"; then
  echo "ok    killed recording: $(head -1 "$W/killed.replay"), truncated"
else
  echo "FAIL  killed recording (timeout exit $rc): $(cat "$W/killed.err"; tail -2 "$W/killed.trace" 2>/dev/null; head -5 "$W/killed.replay" 2>/dev/null)"
  fail=$((fail + 1))
fi
# A multiprocessing pool and a manager: forked workers, threads accepting connections,
# descriptors passed between processes. (No strace log: it would name temporary directories
# the program deletes.)
NO_STRACE_LOG=1 run multiprocessing /usr/bin/python3 -c '
import multiprocessing as mp
def f(x): return x * x
if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as p: print(sum(p.map(f, range(50))))
    m = mp.Manager(); d = m.dict(); d[1] = 2; print(d[1]); m.shutdown()'
# fexecve: execveat of a descriptor (the program sees /dev/fd/N as its file name).
run fexecve python3 -c 'import os; fd = os.open("/usr/bin/true", os.O_RDONLY); os.execve(fd, ["true"], {})'
# Another project's test suite: CPython's tests of its mmap module (Debian's
# libpython3.11-testsuite, installed by scripts/setup.sh) with /usr/bin/python3. Not from an
# strace log: the log has no metadata of the files, and the suite deletes its temporary
# directory before a replay could look at it.
NO_STRACE_LOG=1 run python_test_mmap /usr/bin/python3 -m test test_mmap
# strace logs recorded with ASLR on (no setarch -R): the replay moves the log's addresses to
# vmspace's (each exec'd image, the interpreter and vDSO, the executable, the heap).
if [ -n "$STRACE" ]; then
  for prog in "ls -l /usr/lib" "sh -c 'ls /usr/lib | wc -l'" \
              "python3 -c 'a = [list(range(1000)) for i in range(3000)]; del a'"; do
    n=$((n + 1))
    perl -e 'use POSIX; POSIX::close($_) for 3..1023; exec @ARGV or exit 127' \
      sh -c "$STRACE -f -o '$W/aslr.strace' -e trace=memory,desc,process $prog" > /dev/null 2>&1
    replay_log "$prog (strace log, ASLR on)" "$W/aslr.strace"
  done
fi
if command -v gcc > /dev/null; then
  run gcc gcc -c -o "$W/small.o" "$W/small.c"
else
  require gcc
fi
echo "record-replay: $n programs, $fail failed"
[ "$fail" -eq 0 ]
