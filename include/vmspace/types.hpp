// vmspace — the plain types of the public API: what a System is configured with, what a VMA
// and a fault look like. Every other public header includes this one.
//
// Synopsis
//   SystemConfig   kernel facts (page size, RAM, huge pages, capabilities), the sysctls a System
//                  starts with (vm.max_map_count, vm.mmap_min_addr, overcommit, ...), options
//                  and the sandbox
//   SpawnOptions   how System::spawn lays out a new process
//   VmaInfo        a VMA as a value (flags as Linux's VM_* bits, the name maps shows)
//   MmLayout       the layout fields /proc/PID/stat shows (start_code, brk, start_stack, ...)
//   LayoutChange   what a call did to a range of an address space (mapped, unmapped,
//                  protection changed, moved)
//   Fault          a fault signal as the guest would receive it (signal, si_code, si_addr)
//
// Example
//   vmspace::SystemConfig cfg;
//   cfg.max_map_count = 1000;      // vm.max_map_count at boot
//   cfg.root_dir = "/tmp/sandbox";  // where relative guest paths live
//   vmspace::System sys(cfg);
#pragma once

#include <cstdint>
#include <string>

#include "vmspace/abi.hpp"

namespace vmspace {

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
  // read_ahead_kb of the device the files live on (/sys/class/bdi/MAJ:MIN/read_ahead_kb):
  // how much a read fault on an uncached file page reads around it. Linux's default is 128;
  // some virtual disks set more (8192 reads a whole 8 MiB around the page).
  uint64_t read_ahead_kb = 128;

  // Kernel configuration options that change behaviour.
  bool transparent_hugepage = true;  // CONFIG_TRANSPARENT_HUGEPAGE: 2 MiB alignment of large maps
  bool anon_vma_name = false;        // CONFIG_ANON_VMA_NAME: prctl(PR_SET_VMA) naming
  // Loads from untouched private anonymous memory map the shared zero page (4 KiB, and the
  // huge zero page for THP). false: they allocate a page, mapped dirty where the mapping is
  // writable, as on kernels that forbid the zero page (mm_forbids_zeropage; some
  // paravirtualised guests boot with pvm_no_zero_page=1).
  bool zero_page = true;

  // The capabilities a root process has. kHostCapabilities: those of the host process when
  // it runs as root (a container's root may lack some, e.g. CAP_SYS_RESOURCE), else all.
  static constexpr uint64_t kHostCapabilities = 0;
  uint64_t root_capabilities = kHostCapabilities;

  // The default file system (vmspace/filesystem.hpp make_sandbox_fs; see README, "Safety"):
  // relative paths resolve in root_dir, the sandbox, as a chroot would resolve them (no path
  // or link leads out of it); files outside it may only be opened read-only, and only with
  // allow_host_read. Device nodes are never opened on the host: they open as virtual devices
  // with the node's identity. A System given its own FileSystem ignores these.
  std::string root_dir = ".";
  bool allow_host_read = true;
  // What the sandbox may hold: files, directories, links and FIFOs made in it (stand-ins,
  // @file, O_CREAT), and bytes written into its files (@hostdata, @file contents). Past
  // them, a directive fails and a guest's O_CREAT gives ENOSPC.
  uint64_t max_sandbox_files = 1000000;
  uint64_t max_sandbox_bytes = 1ull << 30;

  // The host memory the guest model may hold (VMAs, processes, descriptors); 0: a quarter
  // of the host's RAM. Past it, calls that would make more fail with ENOMEM and
  // System::memory_exhausted() says so (see README, "Safety").
  uint64_t max_memory = 0;
  // Guest physical memory: the frames all processes' pages and page caches may hold; 0: a
  // quarter of the host's RAM. When it is used up, a fault that needs a page fails as an
  // out-of-memory kill (SIGKILL). The frames are charged to max_memory too.
  uint64_t ram_limit = 0;

  // What execve writes into the auxiliary vector about the CPU: AT_HWCAP, AT_HWCAP2 and
  // AT_MINSIGSTKSZ; 0 takes the host's own values. AT_RANDOM's 16 bytes are not random: they
  // come from at_random_seed and the number of execs the System did before.
  uint64_t hwcap = 0, hwcap2 = 0, minsigstksz = 0;
  uint64_t at_random_seed = 0;
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

// A VMA as the public API shows it.
struct VmaInfo {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t flags = 0;  // Linux VM_* bits (vm::read, vm::growsdown, ...: vmspace/abi.hpp)
  uint64_t pgoff = 0;
  bool anonymous = true;
  bool has_anon_vma = false;
  uint64_t anon_vma_id = 0;  // which anon_vma (0: none); equal ids share one
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t ino = 0;
  std::string name;  // the name column of /proc/PID/maps ("" for plain anonymous memory)
};

// The layout fields of an address space that /proc/PID/stat shows (Linux: mm_struct).
struct MmLayout {
  uint64_t start_code = 0, end_code = 0;
  uint64_t start_data = 0, end_data = 0;
  uint64_t start_brk = 0, brk = 0;
  uint64_t start_stack = 0;
  uint64_t mmap_base = 0;
  // After execve: the first instruction (the interpreter's entry, or the program's); the
  // stack pointer starts at start_stack, where argc is.
  uint64_t start_ip = 0;
};

// What a change to an address space did to [start, end), for an embedder's TLB and translated
// code (Process::set_layout_listener).
struct LayoutChange {
  enum Kind : uint8_t {
    mapped = 1,      // [start, end) holds new memory (whatever was there before is gone)
    unmapped = 2,    // [start, end) holds nothing any more
    protected_ = 3,  // the protection of [start, end) is `prot` now
    moved = 4,       // the memory of [start, end) now lies at [to, to + (end - start))
  };
  Kind kind = mapped;
  uint64_t start = 0, end = 0;
  uint64_t prot = 0;  // PROT_* bits (mapped, protected_, moved)
  uint64_t to = 0;    // moved: the new start
};

// A fault signal as the guest would receive it (SIGSEGV 11 / SIGBUS 7, si_code, si_addr).
struct Fault {
  int signal = 0;  // 0: no fault
  int code = 0;    // SEGV_MAPERR 1, SEGV_ACCERR 2, BUS_ADRERR 2
  uint64_t addr = 0;
  explicit operator bool() const { return signal != 0; }
};

}  // namespace vmspace
