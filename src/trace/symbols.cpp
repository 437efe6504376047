// Symbolic constants and strace-style formatting. See symbols.hpp.
#include "trace/symbols.hpp"

#include <unordered_map>

#include <cstdio>

#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
struct Sym {
  const char *name;
  uint64_t value;
};

constexpr Sym kConstants[] = {
    {"NULL", 0},
    {"PROT_NONE", lx::prot_none},
    {"PROT_READ", lx::prot_read},
    {"PROT_WRITE", lx::prot_write},
    {"PROT_EXEC", lx::prot_exec},
    {"PROT_SEM", lx::prot_sem},
    {"PROT_GROWSDOWN", lx::prot_growsdown},
    {"PROT_GROWSUP", lx::prot_growsup},
    {"MAP_SHARED", lx::map_shared},
    {"MAP_PRIVATE", lx::map_private},
    {"MAP_SHARED_VALIDATE", lx::map_shared_validate},
    {"MAP_DROPPABLE", lx::map_droppable},
    {"MAP_TYPE", lx::map_type},
    {"MAP_FIXED", lx::map_fixed},
    {"MAP_ANONYMOUS", lx::map_anonymous},
    {"MAP_ANON", lx::map_anonymous},
    {"MAP_32BIT", lx::map_32bit},
    {"MAP_ABOVE4G", lx::map_above4g},
    {"MAP_GROWSDOWN", lx::map_growsdown},
    {"MAP_DENYWRITE", lx::map_denywrite},
    {"MAP_EXECUTABLE", lx::map_executable},
    {"MAP_LOCKED", lx::map_locked},
    {"MAP_NORESERVE", lx::map_noreserve},
    {"MAP_POPULATE", lx::map_populate},
    {"MAP_NONBLOCK", lx::map_nonblock},
    {"MAP_STACK", lx::map_stack},
    {"MAP_HUGETLB", lx::map_hugetlb},
    {"MAP_SYNC", lx::map_sync},
    {"MAP_FIXED_NOREPLACE", lx::map_fixed_noreplace},
    {"MAP_UNINITIALIZED", lx::map_uninitialized},
    {"MAP_FILE", lx::map_file},
    {"MAP_HUGE_SHIFT", static_cast<uint64_t>(lx::map_huge_shift)},
    {"MAP_HUGE_MASK", lx::map_huge_mask},
    {"MAP_HUGE_64KB", 16ull << 26},
    {"MAP_HUGE_512KB", 19ull << 26},
    {"MAP_HUGE_1MB", 20ull << 26},
    {"MAP_HUGE_2MB", lx::map_huge_2mb},
    {"MAP_HUGE_8MB", 23ull << 26},
    {"MAP_HUGE_16MB", 24ull << 26},
    {"MAP_HUGE_32MB", 25ull << 26},
    {"MAP_HUGE_256MB", 28ull << 26},
    {"MAP_HUGE_512MB", 29ull << 26},
    {"MAP_HUGE_1GB", lx::map_huge_1gb},
    {"MAP_HUGE_2GB", 31ull << 26},
    {"MAP_HUGE_16GB", 34ull << 26},
    {"MAP_FAILED", ~0ull},
    {"O_RDONLY", lx::o_rdonly},
    {"O_WRONLY", lx::o_wronly},
    {"O_RDWR", lx::o_rdwr},
    {"O_ACCMODE", lx::o_accmode},
    {"O_CREAT", lx::o_creat},
    {"O_EXCL", lx::o_excl},
    {"O_NOCTTY", lx::o_noctty},
    {"O_TRUNC", lx::o_trunc},
    {"O_APPEND", lx::o_append},
    {"O_NONBLOCK", lx::o_nonblock},
    {"O_NDELAY", lx::o_nonblock},
    {"O_DSYNC", lx::o_dsync},
    {"O_ASYNC", lx::o_async},
    {"FASYNC", lx::o_async},
    {"O_DIRECT", lx::o_direct},
    {"O_LARGEFILE", lx::o_largefile},
    {"O_DIRECTORY", lx::o_directory},
    {"O_NOFOLLOW", lx::o_nofollow},
    {"O_NOATIME", lx::o_noatime},
    {"O_CLOEXEC", lx::o_cloexec},
    {"O_SYNC", lx::o_sync},
    {"O_RSYNC", lx::o_sync},
    {"O_PATH", lx::o_path},
    {"O_TMPFILE", lx::o_tmpfile},
    {"AT_FDCWD", static_cast<uint64_t>(lx::at_fdcwd)},
    {"AT_REMOVEDIR", lx::at_removedir},
    {"AT_SYMLINK_FOLLOW", lx::at_symlink_follow},
    {"AT_EMPTY_PATH", lx::at_empty_path},
    {"RENAME_NOREPLACE", lx::rename_noreplace},
    {"RENAME_EXCHANGE", lx::rename_exchange},
    {"RENAME_WHITEOUT", lx::rename_whiteout},
    {"F_DUPFD", lx::f_dupfd},
    {"F_GETFD", lx::f_getfd},
    {"F_SETFD", lx::f_setfd},
    {"F_GETFL", lx::f_getfl},
    {"F_SETFL", lx::f_setfl},
    {"F_DUPFD_CLOEXEC", lx::f_dupfd_cloexec},
    {"FD_CLOEXEC", lx::fd_cloexec},
    {"MFD_CLOEXEC", lx::mfd_cloexec},
    {"MFD_ALLOW_SEALING", lx::mfd_allow_sealing},
    {"MFD_HUGETLB", lx::mfd_hugetlb},
    {"MFD_NOEXEC_SEAL", lx::mfd_noexec_seal},
    {"MFD_EXEC", lx::mfd_exec},
    {"MFD_HUGE_SHIFT", lx::mfd_huge_shift},
    {"MFD_HUGE_MASK", lx::mfd_huge_mask},
    {"MFD_HUGE_2MB", 21ull << 26},
    {"MFD_HUGE_1GB", 30ull << 26},
    {"RLIMIT_CPU", lx::rlimit_cpu},
    {"RLIMIT_FSIZE", lx::rlimit_fsize},
    {"RLIMIT_DATA", lx::rlimit_data},
    {"RLIMIT_STACK", lx::rlimit_stack},
    {"RLIMIT_CORE", lx::rlimit_core},
    {"RLIMIT_RSS", lx::rlimit_rss},
    {"RLIMIT_NPROC", lx::rlimit_nproc},
    {"RLIMIT_NOFILE", lx::rlimit_nofile},
    {"RLIMIT_MEMLOCK", lx::rlimit_memlock},
    {"RLIMIT_AS", lx::rlimit_as},
    {"RLIMIT_LOCKS", lx::rlimit_locks},
    {"RLIMIT_SIGPENDING", lx::rlimit_sigpending},
    {"RLIMIT_MSGQUEUE", lx::rlimit_msgqueue},
    {"RLIMIT_NICE", lx::rlimit_nice},
    {"RLIMIT_RTPRIO", lx::rlimit_rtprio},
    {"RLIMIT_RTTIME", lx::rlimit_rttime},
    {"RLIM_INFINITY", lx::rlim_infinity},
    {"MREMAP_MAYMOVE", lx::mremap_maymove},
    {"MREMAP_FIXED", lx::mremap_fixed},
    {"MREMAP_DONTUNMAP", lx::mremap_dontunmap},
    {"MLOCK_ONFAULT", lx::mlock_onfault},
    {"MCL_CURRENT", lx::mcl_current},
    {"MCL_FUTURE", lx::mcl_future},
    {"MCL_ONFAULT", lx::mcl_onfault},
    {"MS_ASYNC", lx::ms_async},
    {"MS_INVALIDATE", lx::ms_invalidate},
    {"MS_SYNC", lx::ms_sync},
    {"SEEK_SET", 0},
    {"SEEK_CUR", 1},
    {"SEEK_END", 2},
    {"SEEK_DATA", 3},
    {"SEEK_HOLE", 4},
    {"MADV_NORMAL", static_cast<uint64_t>(lx::madv_normal)},
    {"MADV_RANDOM", static_cast<uint64_t>(lx::madv_random)},
    {"MADV_SEQUENTIAL", static_cast<uint64_t>(lx::madv_sequential)},
    {"MADV_WILLNEED", static_cast<uint64_t>(lx::madv_willneed)},
    {"MADV_DONTNEED", static_cast<uint64_t>(lx::madv_dontneed)},
    {"MADV_FREE", static_cast<uint64_t>(lx::madv_free)},
    {"MADV_REMOVE", static_cast<uint64_t>(lx::madv_remove)},
    {"MADV_DONTFORK", static_cast<uint64_t>(lx::madv_dontfork)},
    {"MADV_DOFORK", static_cast<uint64_t>(lx::madv_dofork)},
    {"MADV_MERGEABLE", static_cast<uint64_t>(lx::madv_mergeable)},
    {"MADV_UNMERGEABLE", static_cast<uint64_t>(lx::madv_unmergeable)},
    {"MADV_HUGEPAGE", static_cast<uint64_t>(lx::madv_hugepage)},
    {"MADV_NOHUGEPAGE", static_cast<uint64_t>(lx::madv_nohugepage)},
    {"MADV_DONTDUMP", static_cast<uint64_t>(lx::madv_dontdump)},
    {"MADV_DODUMP", static_cast<uint64_t>(lx::madv_dodump)},
    {"MADV_WIPEONFORK", static_cast<uint64_t>(lx::madv_wipeonfork)},
    {"MADV_KEEPONFORK", static_cast<uint64_t>(lx::madv_keeponfork)},
    {"MADV_COLD", static_cast<uint64_t>(lx::madv_cold)},
    {"MADV_PAGEOUT", static_cast<uint64_t>(lx::madv_pageout)},
    {"MADV_POPULATE_READ", static_cast<uint64_t>(lx::madv_populate_read)},
    {"MADV_POPULATE_WRITE", static_cast<uint64_t>(lx::madv_populate_write)},
    {"MADV_DONTNEED_LOCKED", static_cast<uint64_t>(lx::madv_dontneed_locked)},
    {"MADV_COLLAPSE", static_cast<uint64_t>(lx::madv_collapse)},
    {"MADV_HWPOISON", static_cast<uint64_t>(lx::madv_hwpoison)},
    {"MADV_SOFT_OFFLINE", static_cast<uint64_t>(lx::madv_soft_offline)},
    {"MADV_GUARD_INSTALL", static_cast<uint64_t>(lx::madv_guard_install)},
    {"MADV_GUARD_REMOVE", static_cast<uint64_t>(lx::madv_guard_remove)},
    {"PR_SET_VMA", lx::pr_set_vma},
    {"PR_SET_VMA_ANON_NAME", lx::pr_set_vma_anon_name},
    {"CLONE_VM", lx::clone_vm},
    {"CLONE_FS", lx::clone_fs},
    {"CLONE_FILES", lx::clone_files},
    {"CLONE_SIGHAND", lx::clone_sighand},
    {"CLONE_PIDFD", lx::clone_pidfd},
    {"CLONE_PTRACE", lx::clone_ptrace},
    {"CLONE_VFORK", lx::clone_vfork},
    {"CLONE_PARENT", lx::clone_parent},
    {"CLONE_THREAD", lx::clone_thread},
    {"CLONE_NEWNS", lx::clone_newns},
    {"CLONE_SYSVSEM", lx::clone_sysvsem},
    {"CLONE_SETTLS", lx::clone_settls},
    {"CLONE_PARENT_SETTID", lx::clone_parent_settid},
    {"CLONE_CHILD_CLEARTID", lx::clone_child_cleartid},
    {"CLONE_DETACHED", lx::clone_detached},
    {"CLONE_UNTRACED", lx::clone_untraced},
    {"CLONE_CHILD_SETTID", lx::clone_child_settid},
    {"CLONE_IO", lx::clone_io},
    {"SIGCHLD", static_cast<uint64_t>(lx::sigchld)},
    {"RLIM64_INFINITY", lx::rlim_infinity},
};

// Flag names in the order strace 6 prints them.
constexpr Sym kMmapFlags[] = {
    {"MAP_FIXED", lx::map_fixed},
    {"MAP_ANONYMOUS", lx::map_anonymous},
    {"MAP_32BIT", lx::map_32bit},
    {"MAP_ABOVE4G", lx::map_above4g},
    {"MAP_NORESERVE", lx::map_noreserve},
    {"MAP_POPULATE", lx::map_populate},
    {"MAP_NONBLOCK", lx::map_nonblock},
    {"MAP_GROWSDOWN", lx::map_growsdown},
    {"MAP_DENYWRITE", lx::map_denywrite},
    {"MAP_EXECUTABLE", lx::map_executable},
    {"MAP_LOCKED", lx::map_locked},
    {"MAP_STACK", lx::map_stack},
    {"MAP_HUGETLB", lx::map_hugetlb},
    {"MAP_SYNC", lx::map_sync},
    {"MAP_FIXED_NOREPLACE", lx::map_fixed_noreplace},
};

constexpr Sym kOpenFlags[] = {
    {"O_CREAT", lx::o_creat},     {"O_EXCL", lx::o_excl},           {"O_NOCTTY", lx::o_noctty},
    {"O_TRUNC", lx::o_trunc},     {"O_APPEND", lx::o_append},       {"O_NONBLOCK", lx::o_nonblock},
    {"O_SYNC", lx::o_sync},       {"O_DSYNC", lx::o_dsync},         {"O_ASYNC", lx::o_async},
    {"O_DIRECT", lx::o_direct},   {"O_LARGEFILE", lx::o_largefile}, {"O_NOFOLLOW", lx::o_nofollow},
    {"O_NOATIME", lx::o_noatime}, {"O_CLOEXEC", lx::o_cloexec},     {"O_PATH", lx::o_path},
    {"O_TMPFILE", lx::o_tmpfile}, {"O_DIRECTORY", lx::o_directory},
};

constexpr Sym kMfdFlags[] = {
    {"MFD_CLOEXEC", lx::mfd_cloexec}, {"MFD_ALLOW_SEALING", lx::mfd_allow_sealing},
    {"MFD_HUGETLB", lx::mfd_hugetlb}, {"MFD_NOEXEC_SEAL", lx::mfd_noexec_seal},
    {"MFD_EXEC", lx::mfd_exec},
};

void append_flag(std::string &out, const std::string &s) {
  if (!out.empty()) out += '|';
  out += s;
}

// Names the set bits of `v` from `table` (each removed from v), the rest in hex.
std::string flag_list(uint64_t v, const Sym *table, size_t n, std::string out) {
  for (size_t i = 0; i < n; i++) {
    if (table[i].value && (v & table[i].value) == table[i].value) {
      append_flag(out, table[i].name);
      v &= ~table[i].value;
    }
  }
  if (v) append_flag(out, fmt_hex(v));
  return out;
}
}  // namespace

std::optional<uint64_t> constant_value(std::string_view name) {
  // Looked up for every symbol of a trace: a hash table, built once (the first name wins, as
  // the table is ordered).
  static const std::unordered_map<std::string_view, uint64_t> index = [] {
    std::unordered_map<std::string_view, uint64_t> m;
    for (const Sym &s : kConstants) m.emplace(s.name, s.value);
    return m;
  }();
  auto it = index.find(name);
  if (it == index.end()) return std::nullopt;
  return it->second;
}

std::string fmt_hex(uint64_t v) {
  if (v == 0) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string fmt_addr(uint64_t v) { return v == 0 ? "NULL" : fmt_hex(v); }

std::string fmt_dec(uint64_t v) { return std::to_string(v); }
std::string fmt_sdec(int64_t v) { return std::to_string(v); }
std::string fmt_int(uint64_t v) {
  return std::to_string(static_cast<int32_t>(static_cast<uint32_t>(v)));
}

std::string fmt_octal(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#llo", static_cast<unsigned long long>(v));
  return buf;
}

std::string fmt_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%o", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string fmt_prot(uint64_t prot) {
  if (prot == 0) return "PROT_NONE";
  std::string out;
  const Sym bits[] = {{"PROT_READ", lx::prot_read},           {"PROT_WRITE", lx::prot_write},
                      {"PROT_EXEC", lx::prot_exec},           {"PROT_SEM", lx::prot_sem},
                      {"PROT_GROWSDOWN", lx::prot_growsdown}, {"PROT_GROWSUP", lx::prot_growsup}};
  return flag_list(prot, bits, 6, out);
}

std::string fmt_mmap_flags(uint64_t flags) {
  std::string out;
  switch (flags & lx::map_type) {
    case lx::map_shared:
      out = "MAP_SHARED";
      break;
    case lx::map_private:
      out = "MAP_PRIVATE";
      break;
    case lx::map_shared_validate:
      out = "MAP_SHARED_VALIDATE";
      break;
    case lx::map_droppable:
      out = "MAP_DROPPABLE";
      break;
    case 0:
      break;
    default:
      out = fmt_hex(flags & lx::map_type);
      break;
  }
  uint64_t rest = flags & ~lx::map_type;
  uint64_t huge = (rest >> lx::map_huge_shift) & lx::map_huge_mask;
  rest &= ~(lx::map_huge_mask << lx::map_huge_shift);
  out = flag_list(rest, kMmapFlags, sizeof kMmapFlags / sizeof kMmapFlags[0], out);
  if (huge) append_flag(out, std::to_string(huge) + "<<MAP_HUGE_SHIFT");
  if (out.empty()) out = "0";
  return out;
}

std::string fmt_open_flags(uint64_t flags) {
  std::string out;
  uint64_t acc = flags & lx::o_accmode;
  out = acc == lx::o_rdonly   ? "O_RDONLY"
        : acc == lx::o_wronly ? "O_WRONLY"
        : acc == lx::o_rdwr   ? "O_RDWR"
                              : "O_ACCMODE";
  return flag_list(flags & ~lx::o_accmode, kOpenFlags, sizeof kOpenFlags / sizeof kOpenFlags[0],
                   out);
}

std::string fmt_mfd_flags(uint64_t flags) {
  uint64_t huge = (flags >> 26) & 0x3f;
  std::string out = flag_list(flags & ~(0x3full << 26), kMfdFlags, 5, "");
  if (huge) append_flag(out, std::to_string(huge) + "<<MFD_HUGE_SHIFT");
  if (out.empty()) out = "0";
  return out;
}

std::string fmt_mremap_flags(uint64_t flags) {
  const Sym f[] = {{"MREMAP_MAYMOVE", lx::mremap_maymove},
                   {"MREMAP_FIXED", lx::mremap_fixed},
                   {"MREMAP_DONTUNMAP", lx::mremap_dontunmap}};
  std::string out = flag_list(flags, f, 3, "");
  return out.empty() ? "0" : out;
}

std::string fmt_named_flags(const char *family, uint64_t flags) {
  const std::string fam = family;
  std::string out;
  if (fam == "mlock2") {
    const Sym f[] = {{"MLOCK_ONFAULT", lx::mlock_onfault}};
    out = flag_list(flags, f, 1, "");
  } else if (fam == "mcl") {
    const Sym f[] = {{"MCL_CURRENT", lx::mcl_current},
                     {"MCL_FUTURE", lx::mcl_future},
                     {"MCL_ONFAULT", lx::mcl_onfault}};
    out = flag_list(flags, f, 3, "");
  } else {
    const Sym f[] = {
        {"MS_ASYNC", lx::ms_async}, {"MS_INVALIDATE", lx::ms_invalidate}, {"MS_SYNC", lx::ms_sync}};
    out = flag_list(flags, f, 3, "");
  }
  return out.empty() ? "0" : out;
}

std::string fmt_madvise(uint64_t advice) {
  static const char *names[] = {"MADV_NORMAL",
                                "MADV_RANDOM",
                                "MADV_SEQUENTIAL",
                                "MADV_WILLNEED",
                                "MADV_DONTNEED",
                                nullptr,
                                nullptr,
                                nullptr,
                                "MADV_FREE",
                                "MADV_REMOVE",
                                "MADV_DONTFORK",
                                "MADV_DOFORK",
                                "MADV_MERGEABLE",
                                "MADV_UNMERGEABLE",
                                "MADV_HUGEPAGE",
                                "MADV_NOHUGEPAGE",
                                "MADV_DONTDUMP",
                                "MADV_DODUMP",
                                "MADV_WIPEONFORK",
                                "MADV_KEEPONFORK",
                                "MADV_COLD",
                                "MADV_PAGEOUT",
                                "MADV_POPULATE_READ",
                                "MADV_POPULATE_WRITE",
                                "MADV_DONTNEED_LOCKED",
                                "MADV_COLLAPSE"};
  if (advice < sizeof names / sizeof names[0] && names[advice]) return names[advice];
  if (advice == 100) return "MADV_HWPOISON";
  if (advice == 101) return "MADV_SOFT_OFFLINE";
  if (advice == 102) return "MADV_GUARD_INSTALL";
  if (advice == 103) return "MADV_GUARD_REMOVE";
  return fmt_hex(advice);
}

std::string fmt_clone_flags(uint64_t flags) {
  const Sym f[] = {{"CLONE_VM", lx::clone_vm},
                   {"CLONE_FS", lx::clone_fs},
                   {"CLONE_FILES", lx::clone_files},
                   {"CLONE_SIGHAND", lx::clone_sighand},
                   {"CLONE_PIDFD", lx::clone_pidfd},
                   {"CLONE_PTRACE", lx::clone_ptrace},
                   {"CLONE_VFORK", lx::clone_vfork},
                   {"CLONE_PARENT", lx::clone_parent},
                   {"CLONE_THREAD", lx::clone_thread},
                   {"CLONE_NEWNS", lx::clone_newns},
                   {"CLONE_SYSVSEM", lx::clone_sysvsem},
                   {"CLONE_SETTLS", lx::clone_settls},
                   {"CLONE_PARENT_SETTID", lx::clone_parent_settid},
                   {"CLONE_CHILD_CLEARTID", lx::clone_child_cleartid},
                   {"CLONE_DETACHED", lx::clone_detached},
                   {"CLONE_UNTRACED", lx::clone_untraced},
                   {"CLONE_CHILD_SETTID", lx::clone_child_settid},
                   {"CLONE_IO", lx::clone_io}};
  uint64_t sig = flags & 0xff;
  std::string out = flag_list(flags & ~0xffull, f, sizeof f / sizeof f[0], "");
  if (sig == static_cast<uint64_t>(lx::sigchld))
    out += out.empty() ? "SIGCHLD" : "|SIGCHLD";
  else if (sig)
    out += (out.empty() ? "" : "|") + fmt_dec(sig);
  return out.empty() ? "0" : out;
}

std::string fmt_dirfd(uint64_t fd) {
  if (static_cast<int32_t>(static_cast<uint32_t>(fd)) == lx::at_fdcwd) return "AT_FDCWD";
  return fmt_int(fd);
}

std::string fmt_rlimit_resource(uint64_t r) {
  static const char *names[] = {
      "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
      "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
      "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
      "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
  if (r < 16) return names[r];
  return fmt_dec(r);
}

std::string fmt_hex0x(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// SIGSEGV SEGV_MAPERR 0xADDR, SIGBUS BUS_ADRERR 0xADDR, SIGSEGV SI_KERNEL 0x0, ...
std::string fmt_fault(const Fault &f) {
  if (!f) return "0";
  std::string sig = f.signal == lx::sigbus    ? "SIGBUS"
                    : f.signal == lx::sigkill ? "SIGKILL"
                                              : "SIGSEGV";
  std::string code;
  if (f.code == lx::si_kernel || f.signal == lx::sigkill)
    code = "SI_KERNEL";
  else if (f.signal == lx::sigbus)
    code = f.code == lx::bus_adrerr ? "BUS_ADRERR" : std::to_string(f.code);
  else
    code = f.code == lx::segv_maperr   ? "SEGV_MAPERR"
           : f.code == lx::segv_accerr ? "SEGV_ACCERR"
                                       : std::to_string(f.code);
  return sig + " " + code + " " + fmt_hex0x(f.addr);
}
// Bytes as a script string: printable ASCII as itself (\" and \\ escaped), \t \n \v \f
// \r, and \xNN for every other byte.
std::string fmt_bytes(std::string_view b) {
  std::string s = "\"";
  for (unsigned char c : b) {
    switch (c) {
      case '"':
        s += "\\\"";
        break;
      case '\\':
        s += "\\\\";
        break;
      case '\t':
        s += "\\t";
        break;
      case '\n':
        s += "\\n";
        break;
      case '\v':
        s += "\\v";
        break;
      case '\f':
        s += "\\f";
        break;
      case '\r':
        s += "\\r";
        break;
      default:
        if (c >= 0x20 && c <= 0x7e) {
          s += static_cast<char>(c);
        } else {
          char h[8];
          std::snprintf(h, sizeof h, "\\x%02x", c);
          s += h;
        }
    }
  }
  return s + "\"";
}

}  // namespace vmspace
