// The system calls a script can make: how their arguments are read and printed, and how they
// run on a Process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmspace/result.hpp"

namespace vmspace {

class Process;
class System;

// How an argument is printed (strace's conventions).
enum class ArgFmt : uint8_t {
  addr,
  hex,
  dec,
  intarg,
  prot,
  mflags,
  path,
  oflags,
  mode,
  dirfd,
  mfdflags,
  mremap_flags,
  mlock2_flags,
  mcl_flags,
  madvise_advice,
  msync_flags,
  vec,
  prctl_option,
  prctl_arg,
  optpath,
  clone_flags,
  fcntl_cmd,
  at_flags,  // unlinkat's: 0 or AT_REMOVEDIR
  strvec,    // a strace string array ["a", "b"] (or a pointer: unknown contents)
  rbuf,      // read's buffer: a string (a host buffer; printed back with the bytes read) or a
             // guest address
  wbuf,      // write's buffer: a string (the bytes written) or a guest address
  whence     // lseek's SEEK_*
};
// The strings of a strace array ["a", "b\n"] (C escapes decoded); false when the text is not
// a complete one (strace's "..." for a cut array included).
bool parse_strvec(const std::string &text, std::vector<std::string> *out);

enum class ResultFmt : uint8_t { addr, dec, none };

struct ArgVal {
  uint64_t v = 0;
  std::string s;           // for path arguments
  bool is_str = false;     // an optional string (optpath) that was given
  bool opaque = false;     // a strace array or struct standing for guest memory
  bool truncated = false;  // a string strace cut ("..."...): only its start is known
};

struct CallOutcome {
  bool ok = true;
  uint64_t value = 0;
  Errno err = Errno::none;
  // The call used a feature vmspace does not model (e.g. a prctl option other
  // than PR_SET_VMA); the runner stops with an error instead of inventing a
  // result.
  const char *unsupported = nullptr;
  // A buffer the call filled (read's string, mincore's vector): argument out_arg is printed
  // as `out` and, when the call succeeded, compared with what the script wrote there.
  int out_arg = -1;
  std::string out;
};

// Whether a call's filled buffer (CallOutcome::out) agrees with what the script wrote for it
// (args[out_arg]): the same bytes or vector, or its start when strace cut it. A script that
// gives a guest address instead has nothing to compare.
bool out_matches(const ArgVal &script_arg, ArgFmt f, const std::string &out);

struct CallDef {
  const char *name;
  std::vector<ArgFmt> args;
  int min_args;  // trailing arguments may be left out (open's mode)
  ResultFmt result;
  CallOutcome (*exec)(Process &p, const std::vector<ArgVal> &a);
};

// The definition of a call, or null.
const CallDef *find_call(const std::string &name);

// A mincore vector as strace prints it: "[1, 0, 1]", with ", ..." when it was cut.
std::string fmt_vector(const std::vector<uint8_t> &v, bool cut);
// read, write, pread64, pwrite64, lseek: calls a strace log's replay skips.
bool is_file_io(const CallDef &def);
// One argument as a script shows it.
std::string format_arg(ArgFmt f, const ArgVal &a);
// "mmap(NULL, 8192, PROT_READ, ...)" for the given values.
std::string format_call(const CallDef &def, const std::vector<ArgVal> &args);
// "0x7ffff7ff5000", "3", or "-1 EINVAL (Invalid argument)".
std::string format_result(const CallDef &def, const CallOutcome &o);

}  // namespace vmspace
