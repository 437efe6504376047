// vmspace — the System: the "kernel" that holds guest processes and their shared state.
//
// Synopsis
//   SystemConfig            page size, sysctls (vm.max_map_count, vm.mmap_min_addr, overcommit),
//                           machine facts (RAM, swap, huge pages), options, the sandbox directory
//   System sys(cfg)         a kernel; no processes yet
//   sys.spawn(opts)         a new process (pid 1, 2, ...) with the layout a fresh exec leaves
//   sys.process(pid)        look a process up
//   sys.set_sysctl(n, v)    change a vm sysctl at run time (like writing /proc/sys/vm/...)
//
// Example
//   vmspace::System sys;                       // Linux 6.18 x86-64 defaults, ASLR off
//   vmspace::Process p = sys.spawn();
//   auto a = p.mmap(0, 8192, lx::prot_read | lx::prot_write, lx::map_private | lx::map_anonymous,
//                   -1, 0);                     // 0x7ffff7ff5000, as on the kernel
//   std::fputs(p.maps().c_str(), stdout);
//
// Thread safety: a System may be used from several threads; each address space has its own
// mmap_lock (see docs/locking.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmspace/filesystem.hpp"
#include "vmspace/process.hpp"
#include "vmspace/result.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

class System {
 public:
  explicit System(SystemConfig cfg = {});
  // A System whose processes see `fs` as their file system (null: the default sandbox file
  // system made from cfg.root_dir, allow_host_read, max_sandbox_files, max_sandbox_bytes).
  System(SystemConfig cfg, std::unique_ptr<FileSystem> fs);
  ~System();
  System(const System &) = delete;
  System &operator=(const System &) = delete;

  // The configuration the System was made with (its sysctls: the values at boot).
  const SystemConfig &config() const;
  // Writes a vm sysctl, as writing /proc/sys/vm/NAME would: "vm.max_map_count",
  // "vm.mmap_min_addr", "vm.overcommit_memory", "vm.overcommit_ratio", "vm.overcommit_kbytes",
  // "vm.nr_hugepages", "vm.legacy_va_layout" (which takes effect at the next exec or spawn).
  // EINVAL for an unknown name or a value the sysctl does not take. Safe while other threads
  // make calls.
  Result<void> set_sysctl(std::string_view name, uint64_t value);
  // Reads one (the same names); EINVAL for an unknown name.
  Result<uint64_t> sysctl(std::string_view name) const;

  // A new process; pids count up from 1.
  Process spawn(const SpawnOptions &opts = {});
  // The process with this pid (an empty handle when there is none).
  Process process(int pid);
  // The pids of the live processes, in order.
  std::vector<int> pids() const;
  // Ends a process (exit_group): it and its threads go away; an address space
  // or descriptor table they shared with others stays with those.
  void exit_process(int pid);
  // Ends one task (exit, or strace's "+++ exited" of a thread): only it goes away; the other
  // threads of its process stay.
  void exit_task(int pid);

  // When a call was refused because it would write a host file outside the sandbox, the
  // message says which; empty otherwise. Reading clears it.
  std::string take_sandbox_violation();

  // The host memory the guest model holds, its limit (SystemConfig::max_memory), and
  // whether a call was refused (ENOMEM) because the limit was reached.
  uint64_t memory_used() const;
  uint64_t memory_limit() const;
  bool memory_exhausted() const;

  // Guest memory (SystemConfig::ram_limit) ran out in a fault: as Linux's OOM killer, the
  // process with the most resident pages and page tables (the later one on a tie) was killed
  // with SIGKILL, and the fault was retried (or, when the faulting process was the one
  // chosen, it died). The listener is told each victim's pid, from the faulting thread.
  void set_oom_listener(std::function<void(int pid)> listener);
  // The victims so far, in order.
  std::vector<int> oom_victims() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmspace
