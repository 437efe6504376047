// The recorder's state machine (Recorder), shared by recorder.cpp (the ptrace loop, entries,
// checkpoints, faults) and record_exit.cpp (what each call's exit writes to the trace).
// Internal to the trace library.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "trace/host_files.hpp"
#include "trace/record_calls.hpp"
#include "trace/recorder.hpp"
#include "trace/tracee.hpp"

namespace vmspace::rec {

struct Task {
  bool in_syscall = false;
  user_regs_struct entry{};
  std::string path;                     // the path argument, read at entry
  std::string path2;                    // the second (link, rename: the new name)
  std::vector<std::string> argv, envp;  // execve's
  bool strings_ok = true;
  // A path argument whose pointer cannot be read (the call fails with EFAULT): written as
  // the address, which the replay finds unreadable too.
  bool path_fault = false, path2_fault = false;
  uint64_t path_addr = 0, path2_addr = 0;
  bool announced = false;   // fork/vfork/clone already written at its event
  bool serialized = false;  // the call entered alone (see Recorder::syscall_stop)
  pid_t lock = 0;           // the lock it holds: its process's, or kFilesLock
  pid_t tgid = 0;
};

class Recorder {
 public:
  explicit Recorder(const RecordOptions &o) : o_(o) {}

  RecordResult run();

 private:
  static pid_t tgid_of(pid_t t);

  void header(pid_t pid);

  void line(pid_t t, const std::string &text);

  void new_task(pid_t parent, Task &pt, pid_t child, int event);

  // False when the task is held at the entry of its call (another thread of its process is
  // inside one); it is resumed when that call is done.
  bool syscall_stop(pid_t t, Task &task);

  // The next stopped or ended task. While tasks wait behind a lock, a holder that stays in
  // its call for long (blocked: a socket lingering on close, a device) lets them go, so that
  // no held task is the one it waits for.
  pid_t next_stop(int *st);

  // The next held thread of the process enters its call.
  void release(pid_t mm);

  // Pages the program wrote since the last call (faults, not system calls) gave VMAs
  // anonymous memory, which decides later merges: written as @touch lines, one per VMA that
  // gained its first anonymous page (at its start, which also grows a stack down to it).
  void touches(pid_t t, const Task &task);

  // The VMAs after a call, with which of them have anonymous memory (see touches()).
  void snapshot(pid_t t, const Task &task, long nr, int64_t ret);

  // A relative path made absolute with the program's working directory: the replay runs in
  // a sandbox directory of its own.
  void entry(pid_t t, Task &task);

  // Writes a finished call as a trace line with the metadata lines around it, or nothing
  // when the trace does not keep the call (record_exit.cpp).
  void exit(pid_t t, Task &task, int64_t ret);

  // A fault signal the kernel raised: replayed as a touch of the faulting address that must
  // raise the same signal with the same si_code. An instruction fetch faults at the
  // instruction pointer; a load or store is what the VMA's protection says it must have been.
  void fault(pid_t t, Task &task, int sig);

  void checkpoint(pid_t t, const Task &task);
  // After a call that may change credentials: "@cred EUID CAPEFF" when the process's
  // effective uid or capabilities are not what the trace last said.
  void credentials(pid_t t, const Task &task);

  void final_checkpoint(pid_t t, const Task &task);

  const RecordOptions &o_;
  std::map<pid_t, Task> tasks_;
  std::set<pid_t> fresh_;
  std::set<pid_t> early_;  // children stopped before their parent's fork event
  std::map<pid_t, std::chrono::steady_clock::time_point> since_;  // when each lock was taken
  std::map<pid_t, uint64_t> faults_;  // per process: page faults when its smaps was last read
  std::map<pid_t, pid_t> busy_;       // per process: the thread inside a memory call
  std::map<pid_t, std::vector<pid_t>> held_;         // threads waiting to enter theirs
  std::map<pid_t, std::vector<VmaAnon>> snapshots_;  // per process, after its last call
  bool exec_pending_ = true;  // before the first execve the address space is the recorder's
  long touches_ = 0;
  long skipped_ = 0;  // checkpoints left out while several threads ran
  HostFiles files_{[this](pid_t t, const std::string &text) { line(t, text); }};
  pid_t leader_ = 0;
  std::map<pid_t, std::pair<uint32_t, uint64_t>> creds_;  // per process: euid, CapEff
  // Per process: descriptors open for writing on a /proc/sys/vm file vmspace models, and
  // which (a write to one becomes @sysctl with the value the kernel then has).
  std::map<pid_t, std::map<int, std::string>> sysctl_fds_;
  // After a write to one of them: "@sysctl vm.NAME VALUE".
  void sysctl_written(pid_t t, const std::string &name);
  long calls_ = 0, checkpoints_ = 0, unsupported_ = 0;
};

}  // namespace vmspace::rec
