// Symbolic constants of the script language and strace-style formatting of arguments.
//
// Every constant strace prints for the supported calls is known here (PROT_*, MAP_*, O_*,
// AT_FDCWD, MFD_*, RLIMIT_*, MAP_HUGE_SHIFT, ...), and the formatters print values the way
// strace 6 does, so that vmspace's output is itself a valid script.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vmspace/types.hpp"

namespace vmspace {

// The value of a symbolic constant, or nothing when the name is unknown.
std::optional<uint64_t> constant_value(std::string_view name);

std::string fmt_hex(uint64_t v);    // 0x1000, or 0
std::string fmt_addr(uint64_t v);   // NULL or 0x7ffff7ff5000
std::string fmt_dec(uint64_t v);    // unsigned decimal
std::string fmt_hex0x(uint64_t v);  // 0x1000, and 0x0
// A memory directive's fault: "SIGSEGV SEGV_MAPERR 0x1000", "SIGSEGV SI_KERNEL 0x0", or "0".
std::string fmt_fault(const Fault &f);
// Bytes as a script string: printable ASCII as itself (\" and \\ escaped), \t \n \v \f \r,
// and \xNN (lowercase) for every other byte.
std::string fmt_bytes(std::string_view b);
std::string fmt_sdec(int64_t v);             // signed decimal
std::string fmt_int(uint64_t v);             // a C int argument (lower 32 bits, signed)
std::string fmt_octal(uint64_t v);           // 0644
std::string fmt_string(std::string_view s);  // "C \"escaped\"\n"
std::string fmt_prot(uint64_t prot);
std::string fmt_mmap_flags(uint64_t flags);
std::string fmt_open_flags(uint64_t flags);
std::string fmt_mfd_flags(uint64_t flags);
std::string fmt_dirfd(uint64_t fd);  // AT_FDCWD or the number
std::string fmt_rlimit_resource(uint64_t r);
std::string fmt_mremap_flags(uint64_t flags);
std::string fmt_madvise(uint64_t advice);
std::string fmt_clone_flags(uint64_t flags);
// Flag sets of small calls: "mlock2" (MLOCK_*), "mcl" (MCL_*), "ms" (MS_*).
std::string fmt_named_flags(const char *family, uint64_t flags);

}  // namespace vmspace
