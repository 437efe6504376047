// vmspace — the Linux x86-64 system-call ABI constants the guest sees.
//
// Synopsis
//   lx::prot_*, lx::map_*, lx::o_*, lx::mfd_*, lx::rlimit_*   values as in Linux's uapi headers
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
