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

// One step of a sequence, in the process of `slot` (0: the first process; forks fill the
// others).
struct Op {
  enum Kind { Call, Touch, Fill, Rlimit, Peek, Poke, Memset } kind = Call;
  int slot = 0;
  int child = -1;                     // fork, vfork: the slot of the new process
  std::string name;                   // Call: the script call
  std::vector<vmspace::ArgVal> args;  // Call arguments
  uint64_t addr = 0, len = 0;         // Touch, Fill (len = pages for Fill)
  bool write = true;                  // Touch
  std::string bytes;                  // Poke
  uint8_t byte = 0;                   // Memset
  int resource = 0;                   // Rlimit
  uint64_t soft = 0, hard = 0;        // Rlimit
};

// Whether status comparisons include VmRSS, RssAnon, RssFile and RssShmem (default on).
extern bool compare_rss;

// What one side answered.
struct Answer {
  Answer() = default;
  Answer(bool ok_, uint64_t value_, int err_) : ok(ok_), value(value_), err(err_) {}
  bool ok = true;
  uint64_t value = 0;
  int err = 0;   // errno, or for the memory ops (Touch, Peek, Poke, Memset) the signal (-1: died)
  int code = 0;  // memory ops: si_code
  uint64_t fault_addr = 0;  // memory ops: si_addr
  std::string bytes;        // Peek: the bytes loaded
};

bool operator==(const Answer &a, const Answer &b);

// How the host kernel differs from the Linux defaults that vmspace models and the scripts
// under examples/ were annotated with: each session configures vmspace alike, so that it is
// compared with this kernel as it is.
struct HostKernel {
  bool zero_page = true;         // false: read faults allocate (mm_forbids_zeropage)
  bool gigantic_pages = true;    // a 1 GiB huge page size exists (CPU flag pdpe1gb)
  uint64_t read_ahead_kb = 128;  // of the device holding the sessions' files ($TMPDIR)
  // What differs, for people ("no zero page; no 1 GiB huge pages"); empty when nothing does.
  std::string differences() const;
};
// Probed once per program (a read of untouched anonymous memory, /sys/kernel/mm/hugepages,
// /sys/class/bdi/MAJ:MIN/read_ahead_kb of $TMPDIR's device).
const HostKernel &host_kernel();

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
  static constexpr int kSlots = Oracle::kSlots;

  // dir: an empty directory; the kernel side works in dir/k and vmspace in dir/v, so that
  // files one side creates or changes do not change what the other finds. oracle_path: the
  // vmspace-oracle binary. With prepare, both get the session files.
  bool start(const std::string &oracle_path, const std::string &dir, bool privileged, bool prepare,
             std::string *error);
  const std::string &kernel_dir() const { return kdir_; }
  const std::string &vmspace_dir() const { return vdir_; }
  Answer kernel(const Op &op);
  // A raw system call in the oracle's first process (for set-up such as dropping privileges).
  long kernel_syscall(long nr, const long args[6]) { return oracle_.syscall(0, nr, args); }
  Answer vmspace(const Op &op);
  // Both maps texts of a slot's process, with each side's directory shown as $ROOT and inode
  // numbers that differ between the sides (shmem and hugetlbfs objects, which depend on
  // global kernel counters, and the files of the two directories) renumbered by order of
  // appearance.
  std::string kernel_maps(int slot = 0);
  std::string vmspace_maps(int slot = 0);
  // "start-end VmFlags" per VMA.
  std::string kernel_vmflags(int slot = 0);
  std::string vmspace_vmflags(int slot = 0);
  // The /proc/PID/status lines the VMA layer decides (VmPeak .. VmLib).
  std::string kernel_status(int slot = 0);
  std::string vmspace_status(int slot = 0);
  // The smaps entry of the VMA holding addr (its maps line normalized as maps are).
  std::string kernel_smaps(int slot, uint64_t addr);
  std::string vmspace_smaps(int slot, uint64_t addr);
  std::string kernel_smaps_rollup(int slot) { return oracle_.smaps_rollup(slot); }
  std::string vmspace_smaps_rollup(int slot) { return procs_[slot].smaps_rollup(); }
  // Compares every live process: maps, the VmFlags of every VMA, the status lines of the VMA
  // layer, and vmspace's invariants. False with a description of the first difference.
  bool compare(std::string *what);
  vmspace::Process &proc(int slot = 0) { return procs_[slot]; }
  // A slot whose process lives on both sides (the kernel side decides: a fault kills).
  bool alive(int slot) const { return procs_[slot] && oracle_.alive(slot); }
  // A vfork parent waits for its child.
  bool blocked(int slot) const { return oracle_.blocked(slot); }
  // The pid vmspace gave the slot's process (scripts address processes by it).
  int vmspace_pid(int slot) const { return procs_[slot] ? procs_[slot].pid() : 0; }
  const std::string &initial_layout() const { return layout_; }
  bool kernel_alive() const { return oracle_.alive(0); }
  // The ranges operations must not change (the oracle's own code, data and stack).
  const std::vector<std::pair<uint64_t, uint64_t>> &protected_ranges() const { return protected_; }
  bool privileged() const { return privileged_; }

 private:
  // Ends the vmspace side of a slot whose kernel process is gone.
  void reap();
  // Gives a vmspace fork child the oracle pages the kernel's child faulted in by running.
  void settle_child(int slot);
  Oracle oracle_;
  std::unique_ptr<vmspace::System> sys_;
  vmspace::Process procs_[kSlots];
  std::string layout_;
  std::vector<std::pair<uint64_t, uint64_t>> protected_;
  bool privileged_ = true;
  std::string kdir_, vdir_;
};

// `dir` shown as $ROOT; inode numbers of 00:01, 00:11 and 00:12 objects and of files under
// `dir` renumbered 1, 2, ... by first appearance.
std::string normalize_maps(const std::string &maps, const std::string &dir);

// A script line for the op with the kernel's answer as its expected result. pid: the
// vmspace pid of the op's process (written when it is not 1); for fork and vfork the
// result written is vmspace's pid of the child (child_pid).
std::string op_to_script(const Op &op, const Answer &kernel, int pid = 1, int child_pid = 0);
// Preparation of the directory: creates the session files.
bool prepare_dir(const std::string &dir, std::string *error);
// One of session_files() at path p, with its contents (a per-page pattern in the first 64 KiB,
// written page by page, the rest a hole) and mode.
bool make_session_file(const std::string &p, const FileSpec &f, std::string *error);
// A divergence script's line saying that its @file directives name session files: the
// script mode makes them as the random test did (`@file NAME SIZE MODE` alone would give
// zeros that no page cache holds).
inline constexpr const char *kSessionFilesLine =
    "# difftest: @file of a session file = its pattern";

}  // namespace difftest
