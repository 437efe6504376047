// SystemState: what all processes of one System share (Linux: the global kernel state the mm
// code consults): configuration, the inode cache, memory commitment, huge page pools, the
// sandbox for host files.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/mutex.hpp"
#include "file/inode.hpp"
#include "mm/mm_context.hpp"
#include "vmspace/filesystem.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

class Task;

struct SystemState : MmContext {
  SystemState(SystemConfig c, std::unique_ptr<FileSystem> file_system);

  SystemConfig config;  // as the System was made (its sysctls: the values at boot)
  uint64_t root_capabilities = 0;
  std::unique_ptr<FileSystem> fs;  // how guest names reach host files
  // The virtual /dev/null every descriptor placeholder shares.
  Ref<OpenFile> placeholder;

  // The process table: live tasks by pid (Process handles keep a task alive after it left).
  Mutex procs_mu;
  std::map<int, std::shared_ptr<Task>> procs VMS_GUARDED_BY(procs_mu);
  int next_pid VMS_GUARDED_BY(procs_mu) = 1;
  std::atomic<uint64_t> execs{0};  // execve calls so far (AT_RANDOM's bytes)
  // fork, vfork, clone: a new task from `parent` (CLONE_* flags). Returns its pid.
  Result<int> clone_task(Task &parent, uint64_t flags);
  // Ends the thread group of pid (exit_group, a fatal signal).
  void end_group(int pid, int status, int signal);
  // Ends one task (a thread's exit).
  void end_task(int pid);
  // Ends every task (the System goes away).
  void shutdown();
  // Guest memory ran out in a fault of `requester` (Linux: out_of_memory, select_bad_process,
  // oom_badness): the process with the most RSS and page-table pages dies of SIGKILL. True
  // when it was another process (the fault may be retried); false when it was the requester
  // itself, which is then dead too.
  bool oom_kill(int requester);
  Mutex oom_mu;
  std::function<void(int)> oom_listener VMS_GUARDED_BY(oom_mu);
  std::vector<int> oom_victims VMS_GUARDED_BY(oom_mu);
};

// An open file for what the file system opened (the host descriptor is taken over).
Result<Ref<OpenFile>> make_open_file(SystemState &s, OpenedFile o, uint64_t flags);
// A fresh open of the virtual /dev/null (standard descriptors, placeholders).
Ref<OpenFile> null_device(SystemState &s);

struct System::Impl : SystemState {
  using SystemState::SystemState;
};

}  // namespace vmspace
