// Replaying traces and strace logs: what a trace leaves out and the replay has to make up for.
//   - Recorded host files (@hostfile, @hostdata): stand-ins with the recorded identity.
//   - AddressRelocator: a log recorded with ASLR on has other addresses than vmspace gives;
//     ranges the log's own mmap, mremap and brk results named are moved to vmspace's.
//   - Descriptors made by calls vmspace does not model (sockets, pipes, eventfds, ...) get
//     placeholders, so that later descriptors are numbered as in the log.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trace/calls.hpp"
#include "trace/script.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

class Process;
class ScriptFs;

struct RecordedFile;
// "@hostfile "PATH" SIZE MODE MAJ:MIN INODE "SHOWN" ["TARGET"] [existing] [rdev=MAJ:MIN]
// [open=ERRNO]" and "@hostdata "PATH" OFFSET HEX": the words checked (parse_*, false with
// *error; out-parameters may be null), the stand-in made, the recorded bytes written
// (add_*, false with *error: bad words, or the sandbox).
bool parse_hostfile(const std::vector<std::string> &words, RecordedFile *out, std::string *error);
bool parse_hostdata(const std::vector<std::string> &words, uint64_t *offset, std::string *bytes,
                    std::string *error);
bool add_recorded_file(ScriptFs &fs, const std::vector<std::string> &words, std::string *error);
bool add_recorded_bytes(ScriptFs &fs, const std::vector<std::string> &words, std::string *error);

class AddressRelocator {
 public:
  // Where vmspace has the address the log wrote. Outside the ranges learned: in the mmap area
  // (what the kernel mapped there itself, the interpreter and vDSO, moved with mmap_base as
  // the program's first mmap did) and in the executable (set_exe_delta), else unchanged.
  uint64_t relocate(uint64_t v) const;
  // The log's call `name` (with `args`) returned `rec`; vmspace returned `got`.
  void learn(const std::string &name, const std::vector<ArgVal> &args, uint64_t rec, uint64_t got);
  // Did the log's addresses differ from vmspace's (a log recorded with ASLR on)?
  bool randomized() const { return randomized_; }
  // An address in the log's PIE area that no range covers: a PIE executable's.
  static bool in_pie_area(uint64_t v) { return v >= 0x550000000000ull && v < 0x570000000000ull; }
  bool knows(uint64_t v) const;
  bool has_exe_delta() const { return has_exe_delta_; }
  void set_exe_delta(uint64_t delta) {
    exe_delta_ = delta;
    has_exe_delta_ = true;
  }

 private:
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> ranges_;  // start -> (end, delta)
  bool randomized_ = false;
  bool has_mmap_delta_ = false, has_exe_delta_ = false;
  uint64_t mmap_delta_ = 0, exe_delta_ = 0;
};

// The descriptors an unmodelled call of the log made (its result, or strace's [R, W] pair),
// and whether they are close-on-exec; empty for other calls.
std::vector<uint64_t> fds_made_by(const CallStmt &c, int64_t result, bool *cloexec);

// Sets the size of the sandbox file (a stand-in) behind p's descriptor fd; files outside the
// sandbox are refused (EPERM).
Errno resize_standin(Process &p, ScriptFs &fs, uint64_t fd, uint64_t size);

}  // namespace vmspace
