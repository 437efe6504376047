// A differential session: the same operations on the host kernel (an oracle child) and on a
// vmspace process started from that child's layout, compared after every step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "oracle_proc.hpp"
#include "trace/calls.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace difftest {

// One step of a sequence.
struct Op {
  enum Kind { Call, Touch, Fill, Rlimit } kind = Call;
  std::string name;                   // Call: the script call
  std::vector<vmspace::ArgVal> args;  // Call arguments
  uint64_t addr = 0, len = 0;         // Touch, Fill (len = pages for Fill)
  bool write = true;                  // Touch
  int resource = 0;                   // Rlimit
  uint64_t soft = 0, hard = 0;        // Rlimit
};

// What one side answered.
struct Answer {
  bool ok = true;
  uint64_t value = 0;
  int err = 0;  // errno, or for Touch the signal
};

bool operator==(const Answer &a, const Answer &b);

// Files every session finds in its directory (name, size, mode); also a directory "dir"
// and a FIFO "fifo".
struct FileSpec {
  const char *name;
  uint64_t size;
  unsigned mode;
};
const std::vector<FileSpec> &session_files();

class Session {
 public:
  // dir: an empty directory; the kernel side works in dir/k and vmspace in dir/v, so that
  // files one side creates or changes do not change what the other finds. oracle_path: the
  // vmspace-oracle binary. With prepare, both get the session files.
  bool start(const std::string &oracle_path, const std::string &dir, bool privileged, bool prepare,
             std::string *error);
  const std::string &kernel_dir() const { return kdir_; }
  const std::string &vmspace_dir() const { return vdir_; }
  Answer kernel(const Op &op);
  // A raw system call in the oracle (for set-up such as dropping privileges).
  long kernel_syscall(long nr, const long args[6]) { return oracle_.syscall(nr, args); }
  Answer vmspace(const Op &op);
  // Both maps texts, with each side's directory shown as $ROOT and inode numbers that differ
  // between the sides (shmem and hugetlbfs objects, which depend on global kernel counters,
  // and the files of the two directories) renumbered by order of appearance.
  std::string kernel_maps();
  std::string vmspace_maps();
  vmspace::Process &proc() { return *proc_; }
  const std::string &initial_layout() const { return layout_; }
  bool kernel_alive() const { return oracle_.alive(); }
  // The ranges operations must not change (the oracle's own code, data and stack).
  const std::vector<std::pair<uint64_t, uint64_t>> &protected_ranges() const { return protected_; }
  bool privileged() const { return privileged_; }

 private:
  Oracle oracle_;
  std::unique_ptr<vmspace::System> sys_;
  vmspace::Process *proc_ = nullptr;
  std::string layout_;
  std::vector<std::pair<uint64_t, uint64_t>> protected_;
  bool privileged_ = true;
  std::string kdir_, vdir_;
};

// `dir` shown as $ROOT; inode numbers of 00:01, 00:11 and 00:12 objects and of files under
// `dir` renumbered 1, 2, ... by first appearance.
std::string normalize_maps(const std::string &maps, const std::string &dir);

// A script line for the op with the kernel's answer as its expected result.
std::string op_to_script(const Op &op, const Answer &kernel);
// Preparation of the directory: creates the session files.
bool prepare_dir(const std::string &dir, std::string *error);

}  // namespace difftest
