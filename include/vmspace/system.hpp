// vmspace — the System: the "kernel" that holds guest processes and their shared state.
//
// Synopsis
//   SystemConfig            page size, sysctls (vm.max_map_count, vm.mmap_min_addr, overcommit),
//                           machine facts (RAM, swap, huge pages), options, the sandbox directory
//   System sys(cfg)         a kernel; no processes yet
//   sys.spawn(opts)         a new process (pid 1, 2, ...) with the layout a fresh exec leaves
//   sys.process(pid)        look a process up
//   sys.config()            change sysctls at run time (like writing /proc/sys/vm/...)
//
// Example
//   vmspace::System sys;                       // Linux 6.18 x86-64 defaults, ASLR off
//   vmspace::Process &p = sys.spawn();
//   auto a = p.mmap(0, 8192, lx::prot_read | lx::prot_write, lx::map_private | lx::map_anonymous,
//                   -1, 0);                     // 0x7ffff7ff5000, as on the kernel
//   std::fputs(p.maps().c_str(), stdout);
//
// Thread safety: a System may be used from several threads; each address space has its own
// mmap_lock (see docs/locking.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "vmspace/result.hpp"

namespace vmspace {

class Process;

struct SystemConfig {
  // Page size: 4 KiB, 16 KiB or 64 KiB.
  uint64_t page_size = 4096;

  // sysctls (/proc/sys/vm/...)
  uint64_t max_map_count = 65530;
  uint64_t mmap_min_addr = 4096;       // vm.mmap_min_addr (checked against CAP_SYS_RAWIO)
  uint64_t lsm_mmap_min_addr = 65536;  // CONFIG_LSM_MMAP_MIN_ADDR: floor for hints and searches
  int overcommit_memory = 0;           // 0 guess, 1 always, 2 never
  uint64_t overcommit_ratio = 50;
  uint64_t overcommit_kbytes = 0;
  uint64_t admin_reserve_kbytes = 8192;
  uint64_t user_reserve_kbytes = 131072;
  uint64_t stack_guard_gap_pages = 256;
  bool legacy_va_layout = false;

  // Machine. Zero RAM means "read MemTotal/SwapTotal from the host", so that the overcommit
  // heuristic answers as the host kernel does.
  uint64_t total_ram_bytes = 0;
  uint64_t total_swap_bytes = 0;
  uint64_t hugepages_2m = 0;  // free huge pages in the pool (vm.nr_hugepages)
  uint64_t hugepages_1g = 0;
  bool gigantic_pages = true;  // a 1 GiB hstate exists (CPU flag pdpe1gb)

  // Kernel configuration options that change behaviour.
  bool transparent_hugepage = true;  // CONFIG_TRANSPARENT_HUGEPAGE: 2 MiB alignment of large maps
  bool anon_vma_name = false;        // CONFIG_ANON_VMA_NAME: prctl(PR_SET_VMA) naming

  // The capabilities a root process has. kHostCapabilities: those of the host process when
  // it runs as root (a container's root may lack some, e.g. CAP_SYS_RESOURCE), else all.
  static constexpr uint64_t kHostCapabilities = 0;
  uint64_t root_capabilities = kHostCapabilities;

  // Files (see README, "Safety"): relative paths resolve in root_dir, the sandbox, as a chroot
  // would resolve them (no path or link leads out of it); files outside it may only be
  // opened read-only, and only with allow_host_read. Device nodes are never opened on the
  // host: they open as virtual devices with the node's identity.
  std::string root_dir = ".";
  bool allow_host_read = true;
  // Host files outside the sandbox opened for writing get a stand-in inside it
  // (ROOT/host/PATH, sparse, with the host file's size) instead of being refused: a replayed
  // trace never changes the recorded program's files.
  bool standin_host_writes = false;
  // A replay of a recorded trace: host files outside the sandbox are never looked at; a path
  // the trace did not record (@hostfile) does not exist, except the memory devices
  // (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom), which every machine has.
  bool recorded_files_only = false;
  // What the sandbox may hold: files, directories, links and FIFOs made in it (stand-ins,
  // @file, O_CREAT), and bytes written into its files (@hostdata, @file contents). Past
  // them, a directive fails and a guest's O_CREAT gives ENOSPC.
  uint64_t max_sandbox_files = 1000000;
  uint64_t max_sandbox_bytes = 1ull << 30;

  // The host memory the guest model may hold (VMAs, processes, descriptors); 0: a quarter
  // of the host's RAM. Past it, calls that would make more fail with ENOMEM and
  // System::memory_exhausted() says so (see README, "Safety").
  uint64_t max_memory = 0;
};

struct SpawnOptions {
  // Lay out [vvar], [vvar_vclock], [vdso], [stack] as exec of a static binary leaves them;
  // false gives an empty address space.
  bool kernel_mappings = true;
  bool privileged = true;              // root with CAP_SYS_RAWIO, CAP_IPC_LOCK, ...
  bool std_fds = true;                 // descriptors 0-2 open (on /dev/null)
  uint64_t rlimit_stack = 8ull << 20;  // decides mmap_base
  uint64_t rlimit_memlock = 8ull << 20;
};

class System {
 public:
  explicit System(SystemConfig cfg = {});
  ~System();
  System(const System &) = delete;
  System &operator=(const System &) = delete;

  SystemConfig &config();
  const SystemConfig &config() const;

  // A new process; pids count up from 1.
  Process &spawn(const SpawnOptions &opts = {});
  // The process with this pid, or null.
  Process *process(int pid);
  // Ends a process (exit_group): it and its threads go away; an address space
  // or descriptor table they shared with others stays with those.
  void exit_process(int pid);
  // Ends one task (exit, or strace's "+++ exited" of a thread): only it goes away; the other
  // threads of its process stay.
  void exit_task(int pid);
  // A new process made from `parent` by fork, vfork or clone (CLONE_* flags).
  Result<int> clone_process(Process &parent, uint64_t clone_flags);

  // When a call was refused because it would write a host file outside the sandbox, the
  // message says which; empty otherwise. Reading clears it.
  std::string take_sandbox_violation();

  // The host memory the guest model holds, its limit (SystemConfig::max_memory), and
  // whether a call was refused (ENOMEM) because the limit was reached.
  uint64_t memory_used() const;
  uint64_t memory_limit() const;
  bool memory_exhausted() const;

  struct Impl;
  Impl &impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmspace
