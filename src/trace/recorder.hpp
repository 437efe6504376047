// Recording a real program's memory system calls on the host kernel, as a script that
// `vmspace run` / `vmspace replay` executes (Linux: ptrace(2) with PTRACE_O_TRACESYSGOOD and
// the fork, vfork, clone and exec events).
//
// The trace holds, in order of execution:
//   - the limits and privileges the program ran with (@rlimit, @root off);
//   - every execve with its argument and environment strings, followed by the kernel's maps;
//   - every memory call (mmap, munmap, mprotect, mremap, brk, madvise, the mlock family,
//     msync, mincore, mseal, prctl(PR_SET_VMA)) and what it depends on (open, openat, close,
//     dup, dup2, dup3, fcntl F_DUPFD/F_DUPFD_CLOEXEC/F_SETFD, ftruncate, memfd_create, fork,
//     vfork, clone, exit_group), with its result, addressed by thread id;
//   - descriptors made by calls vmspace does not model (sockets, pipes, eventfd, ...) as
//     "@fd N" placeholders, and calls that change the address space in ways vmspace does not
//     model (shmat, io_uring_setup, ...) as "# unsupported:" markers, never dropped silently;
//   - checkpoints: the kernel's maps and status lines after every memory call (each) or at
//     the end (end).
#pragma once

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

namespace vmspace {

struct RecordOptions {
  std::vector<std::string> argv;  // the command; argv[0] is looked up in PATH
  bool checkpoints_each = true;
  FILE *out = nullptr;  // the trace
  // The environment strings of execve calls are written as they are; otherwise every value
  // but those of kHarmlessEnv (and LC_*) becomes as many 'x' bytes: a trace is made to be
  // shared, and tokens, keys and passwords live in environment variables.
  bool keep_env = false;
  // Set (to the signal's number) by the caller's signal handler to end the recording early:
  // the recorder kills the program and the trace ends with "# truncated: SIGNAME". The
  // recorder stores the program's pid in `leader` once it runs, so that the handler can kill
  // it at once (a recorder blocked waiting for the program would not notice otherwise).
  const volatile std::sig_atomic_t *stop = nullptr;
  volatile std::sig_atomic_t *leader = nullptr;
};

// Environment variables whose values a trace keeps (they locate things, they hold no
// secrets); all LC_* variables too.
inline constexpr const char *kHarmlessEnv[] = {
    "PATH", "HOME",    "PWD",   "OLDPWD", "LANG",   "LANGUAGE", "TERM",  "COLORTERM", "SHELL",
    "USER", "LOGNAME", "SHLVL", "TZ",     "TMPDIR", "COLUMNS",  "LINES", "HOSTNAME",  "_"};

// The environment with every value not in kHarmlessEnv (or LC_*) replaced by as many 'x'
// bytes.
std::vector<std::string> redacted_env(const std::vector<std::string> &env);

struct RecordResult {
  int exit_status = 0;    // the program's, as a shell reports it (128+N for signal N)
  long calls = 0;         // calls recorded
  long checkpoints = 0;   // maps checkpoints written
  long unsupported = 0;   // unsupported markers written
  bool executed = false;  // the command's execve succeeded
  int truncated_by = 0;   // the signal that ended the recording early (0: it ran to its end)
  std::string error;      // why recording failed (empty on success)
};

RecordResult record_program(const RecordOptions &o);

}  // namespace vmspace
