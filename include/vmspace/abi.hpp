// vmspace — the Linux x86-64 system-call ABI constants the guest sees: the one definition
// every part of vmspace (and an embedder) uses.
//
// Synopsis (values as in Linux's uapi headers)
//   lx::prot_*, lx::map_*            mmap, mprotect          lx::mremap_*   mremap
//   lx::madv_*                       madvise                 lx::ms_*       msync
//   lx::mlock_*, lx::mcl_*           mlock2, mlockall        lx::mfd_*      memfd_create
//   lx::o_*, lx::at_*, lx::f_*, lx::fd_cloexec, lx::rename_*  open, *at, fcntl, renameat2
//   lx::clone_*, lx::sig*            clone, signals          lx::segv_*, lx::bus_*, lx::si_*
//   lx::pr_set_vma*                  prctl                   lx::rlimit_*, lx::rlim_infinity
//   vm::*                            VM_* flag bits of a VMA (VmaInfo::flags)
//
// These are spelled in lower case inside namespace vmspace::lx so that they never collide with
// the host's <sys/mman.h> macros; a guest program's PROT_READ is lx::prot_read.
//
// Example
//   proc.mmap(0, 4096, lx::prot_read | lx::prot_write, lx::map_private | lx::map_anonymous, -1, 0);
#pragma once

#include <cstdint>

namespace vmspace::lx {

// mmap/mprotect protections
inline constexpr uint64_t prot_none = 0x0;
inline constexpr uint64_t prot_read = 0x1;
inline constexpr uint64_t prot_write = 0x2;
inline constexpr uint64_t prot_exec = 0x4;
inline constexpr uint64_t prot_sem = 0x8;
inline constexpr uint64_t prot_growsdown = 0x01000000;
inline constexpr uint64_t prot_growsup = 0x02000000;
inline constexpr uint64_t prot_rwx = prot_read | prot_write | prot_exec;

// mmap flags
inline constexpr uint64_t map_shared = 0x01;
inline constexpr uint64_t map_private = 0x02;
inline constexpr uint64_t map_shared_validate = 0x03;
inline constexpr uint64_t map_droppable = 0x08;
inline constexpr uint64_t map_type = 0x0f;
inline constexpr uint64_t map_fixed = 0x10;
inline constexpr uint64_t map_anonymous = 0x20;
inline constexpr uint64_t map_32bit = 0x40;
inline constexpr uint64_t map_above4g = 0x80;
inline constexpr uint64_t map_growsdown = 0x0100;
inline constexpr uint64_t map_denywrite = 0x0800;
inline constexpr uint64_t map_executable = 0x1000;
inline constexpr uint64_t map_locked = 0x2000;
inline constexpr uint64_t map_noreserve = 0x4000;
inline constexpr uint64_t map_populate = 0x8000;
inline constexpr uint64_t map_nonblock = 0x10000;
inline constexpr uint64_t map_stack = 0x20000;
inline constexpr uint64_t map_hugetlb = 0x40000;
inline constexpr uint64_t map_sync = 0x80000;
inline constexpr uint64_t map_fixed_noreplace = 0x100000;
inline constexpr uint64_t map_uninitialized = 0x4000000;
inline constexpr uint64_t map_file = 0;
inline constexpr int map_huge_shift = 26;
inline constexpr uint64_t map_huge_mask = 0x3f;
inline constexpr uint64_t map_huge_2mb = 21ull << map_huge_shift;
inline constexpr uint64_t map_huge_1gb = 30ull << map_huge_shift;
inline constexpr uint64_t mfd_huge_shift = 26;
inline constexpr uint64_t mfd_huge_mask = 0x3f;
// The flags every mmap implementation accepted before MAP_SHARED_VALIDATE existed
// (Linux: LEGACY_MAP_MASK; on x86 it includes MAP_32BIT, MAP_ABOVE4G and the huge sizes).
inline constexpr uint64_t legacy_map_mask =
    map_shared | map_private | map_fixed | map_anonymous | map_denywrite | map_executable |
    map_uninitialized | map_growsdown | map_locked | map_noreserve | map_populate | map_nonblock |
    map_stack | map_hugetlb | map_32bit | map_above4g | map_huge_2mb | map_huge_1gb;

// open flags
inline constexpr uint64_t o_rdonly = 00;
inline constexpr uint64_t o_wronly = 01;
inline constexpr uint64_t o_rdwr = 02;
inline constexpr uint64_t o_accmode = 03;
inline constexpr uint64_t o_creat = 0100;
inline constexpr uint64_t o_excl = 0200;
inline constexpr uint64_t o_noctty = 0400;
inline constexpr uint64_t o_trunc = 01000;
inline constexpr uint64_t o_append = 02000;
inline constexpr uint64_t o_nonblock = 04000;
inline constexpr uint64_t o_dsync = 010000;
inline constexpr uint64_t o_async = 020000;
inline constexpr uint64_t o_direct = 040000;
inline constexpr uint64_t o_largefile = 0100000;
inline constexpr uint64_t o_directory = 0200000;
inline constexpr uint64_t o_nofollow = 0400000;
inline constexpr uint64_t o_noatime = 01000000;
inline constexpr uint64_t o_cloexec = 02000000;
inline constexpr uint64_t o_sync = 04010000;
inline constexpr uint64_t o_path = 010000000;
inline constexpr uint64_t o_tmpfile = 020200000;
inline constexpr int64_t at_fdcwd = -100;

// *at flags and renameat2
inline constexpr uint64_t at_symlink_nofollow = 0x100;
inline constexpr uint64_t at_removedir = 0x200;
inline constexpr uint64_t at_symlink_follow = 0x400;
inline constexpr uint64_t at_empty_path = 0x1000;

// Auxiliary vector keys (AT_*, <linux/auxvec.h>), in the order execve writes them on x86-64.
inline constexpr uint64_t at_null = 0, at_phdr = 3, at_phent = 4, at_phnum = 5, at_pagesz = 6,
                          at_base = 7, at_flags = 8, at_entry = 9, at_uid = 11, at_euid = 12,
                          at_gid = 13, at_egid = 14, at_platform = 15, at_hwcap = 16,
                          at_clktck = 17, at_secure = 23, at_random = 25, at_hwcap2 = 26,
                          at_rseq_feature_size = 27, at_rseq_align = 28, at_execfn = 31,
                          at_sysinfo_ehdr = 33, at_minsigstksz = 51;
inline constexpr uint64_t rename_noreplace = 1;
inline constexpr uint64_t rename_exchange = 2;
inline constexpr uint64_t rename_whiteout = 4;

// fcntl commands
inline constexpr uint64_t f_dupfd = 0;
inline constexpr uint64_t f_getfd = 1;
inline constexpr uint64_t f_setfd = 2;
inline constexpr uint64_t f_getfl = 3;
inline constexpr uint64_t f_setfl = 4;
inline constexpr uint64_t f_dupfd_cloexec = 1030;
inline constexpr uint64_t fd_cloexec = 1;

// mremap flags
inline constexpr uint64_t mremap_maymove = 1;
inline constexpr uint64_t mremap_fixed = 2;
inline constexpr uint64_t mremap_dontunmap = 4;

// mlock2 and mlockall flags
inline constexpr uint64_t mlock_onfault = 1;
inline constexpr uint64_t mcl_current = 1;
inline constexpr uint64_t mcl_future = 2;
inline constexpr uint64_t mcl_onfault = 4;

// msync flags
inline constexpr uint64_t ms_async = 1;
inline constexpr uint64_t ms_invalidate = 2;
inline constexpr uint64_t ms_sync = 4;

// madvise advice
inline constexpr int madv_normal = 0;
inline constexpr int madv_random = 1;
inline constexpr int madv_sequential = 2;
inline constexpr int madv_willneed = 3;
inline constexpr int madv_dontneed = 4;
inline constexpr int madv_free = 8;
inline constexpr int madv_remove = 9;
inline constexpr int madv_dontfork = 10;
inline constexpr int madv_dofork = 11;
inline constexpr int madv_mergeable = 12;
inline constexpr int madv_unmergeable = 13;
inline constexpr int madv_hugepage = 14;
inline constexpr int madv_nohugepage = 15;
inline constexpr int madv_dontdump = 16;
inline constexpr int madv_dodump = 17;
inline constexpr int madv_wipeonfork = 18;
inline constexpr int madv_keeponfork = 19;
inline constexpr int madv_cold = 20;
inline constexpr int madv_pageout = 21;
inline constexpr int madv_populate_read = 22;
inline constexpr int madv_populate_write = 23;
inline constexpr int madv_dontneed_locked = 24;
inline constexpr int madv_collapse = 25;
inline constexpr int madv_hwpoison = 100;
inline constexpr int madv_soft_offline = 101;
inline constexpr int madv_guard_install = 102;
inline constexpr int madv_guard_remove = 103;

// prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)
inline constexpr uint64_t pr_set_vma = 0x53564d41;
inline constexpr uint64_t pr_set_vma_anon_name = 0;

// clone flags
inline constexpr uint64_t clone_vm = 0x100;
inline constexpr uint64_t clone_fs = 0x200;
inline constexpr uint64_t clone_files = 0x400;
inline constexpr uint64_t clone_sighand = 0x800;
inline constexpr uint64_t clone_pidfd = 0x1000;
inline constexpr uint64_t clone_ptrace = 0x2000;
inline constexpr uint64_t clone_vfork = 0x4000;
inline constexpr uint64_t clone_parent = 0x8000;
inline constexpr uint64_t clone_thread = 0x10000;
inline constexpr uint64_t clone_newns = 0x20000;
inline constexpr uint64_t clone_sysvsem = 0x40000;
inline constexpr uint64_t clone_settls = 0x80000;
inline constexpr uint64_t clone_parent_settid = 0x100000;
inline constexpr uint64_t clone_child_cleartid = 0x200000;
inline constexpr uint64_t clone_detached = 0x400000;
inline constexpr uint64_t clone_untraced = 0x800000;
inline constexpr uint64_t clone_child_settid = 0x1000000;
inline constexpr uint64_t clone_io = 0x80000000;

// signals and the si_code of the faults vmspace raises
inline constexpr int sigkill = 9;
inline constexpr int sigbus = 7;
inline constexpr int sigsegv = 11;
inline constexpr int sigchld = 17;
inline constexpr int segv_maperr = 1;
inline constexpr int segv_accerr = 2;
inline constexpr int bus_adrerr = 2;
inline constexpr int si_kernel = 0x80;

// memfd_create flags
inline constexpr uint64_t mfd_cloexec = 0x1;
inline constexpr uint64_t mfd_allow_sealing = 0x2;
inline constexpr uint64_t mfd_hugetlb = 0x4;
inline constexpr uint64_t mfd_noexec_seal = 0x8;
inline constexpr uint64_t mfd_exec = 0x10;

// resource limits
enum Rlimit : int {
  rlimit_cpu = 0,
  rlimit_fsize = 1,
  rlimit_data = 2,
  rlimit_stack = 3,
  rlimit_core = 4,
  rlimit_rss = 5,
  rlimit_nproc = 6,
  rlimit_nofile = 7,
  rlimit_memlock = 8,
  rlimit_as = 9,
  rlimit_locks = 10,
  rlimit_sigpending = 11,
  rlimit_msgqueue = 12,
  rlimit_nice = 13,
  rlimit_rtprio = 14,
  rlimit_rttime = 15,
  rlimit_nlimits = 16,
};
inline constexpr uint64_t rlim_infinity = ~0ull;
// fs.nr_open: no process may have more descriptors (RLIMIT_NOFILE never exceeds it).
inline constexpr uint64_t nr_open = 1048576;

}  // namespace vmspace::lx

namespace vmspace {

// VM_* flag bits, numbered as in Linux's include/linux/mm.h (x86-64): VmaInfo::flags and the
// VmFlags line of smaps are made of these.
namespace vm {
inline constexpr uint64_t none = 0;
inline constexpr uint64_t read = 0x1;
inline constexpr uint64_t write = 0x2;
inline constexpr uint64_t exec = 0x4;
inline constexpr uint64_t shared = 0x8;
inline constexpr uint64_t mayread = 0x10;
inline constexpr uint64_t maywrite = 0x20;
inline constexpr uint64_t mayexec = 0x40;
inline constexpr uint64_t mayshare = 0x80;
inline constexpr uint64_t growsdown = 0x100;
inline constexpr uint64_t uffd_missing = 0x200;
inline constexpr uint64_t pfnmap = 0x400;
inline constexpr uint64_t maybe_guard = 0x800;
inline constexpr uint64_t uffd_wp = 0x1000;
inline constexpr uint64_t locked = 0x2000;
inline constexpr uint64_t io = 0x4000;
inline constexpr uint64_t seq_read = 0x8000;
inline constexpr uint64_t rand_read = 0x10000;
inline constexpr uint64_t dontcopy = 0x20000;
inline constexpr uint64_t dontexpand = 0x40000;
inline constexpr uint64_t lockonfault = 0x80000;
inline constexpr uint64_t account = 0x100000;
inline constexpr uint64_t noreserve = 0x200000;
inline constexpr uint64_t hugetlb = 0x400000;
inline constexpr uint64_t sync = 0x800000;
inline constexpr uint64_t arch_1 = 0x1000000;
inline constexpr uint64_t wipeonfork = 0x2000000;
inline constexpr uint64_t dontdump = 0x4000000;
inline constexpr uint64_t softdirty = 0x8000000;
// Flags that do not stop a merge and that the merged VMA keeps if any part had them
// (Linux 6.18: VM_STICKY, VM_IGNORE_MERGE).
inline constexpr uint64_t sticky = softdirty | maybe_guard;
inline constexpr uint64_t mixedmap = 0x10000000;
inline constexpr uint64_t hugepage = 0x20000000;
inline constexpr uint64_t nohugepage = 0x40000000;
inline constexpr uint64_t mergeable = 0x80000000;
inline constexpr uint64_t uffd_minor = 1ull << 41;
inline constexpr uint64_t droppable = 1ull << 40;
inline constexpr uint64_t sealed = 1ull << 42;

inline constexpr uint64_t access_flags = read | write | exec;
inline constexpr uint64_t special = io | dontexpand | pfnmap | mixedmap;
inline constexpr uint64_t stack = growsdown;
inline constexpr uint64_t locked_mask = locked | lockonfault;
}  // namespace vm

}  // namespace vmspace
