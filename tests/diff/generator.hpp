// Random, seeded operation sequences for the differential test: every flag family of mmap,
// file and anonymous mappings, hints, MAP_FIXED and MAP_FIXED_NOREPLACE, bad arguments of
// every kind, munmap and mprotect over VMAs, holes and edges, descriptor calls, resource
// limits, memory touches (which decide anon_vma state and so merging), runs near
// vm.max_map_count, mremap, brk, the mlock family, madvise, msync, mincore, mseal, prctl
// names, and fork, vfork and exit with operations in the children.
//
// Operations that make the kernel allocate memory (locking, populating) are kept to a few
// MiB, and nothing touches the oracle's own code, data and stack.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "session.hpp"

namespace difftest {

struct OpenFd {
  int fd;
  std::string path;  // "" for memfd
  uint64_t flags;
  uint64_t size;         // file size known to the generator
  bool hugetlb = false;  // a memfd made with MFD_HUGETLB
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {
    for (const FileSpec &f : session_files()) sizes_[f.name] = f.size;
  }

  // The next operation, given the current state of the vmspace side (equal to the kernel's
  // as long as no divergence happened).
  Op next(Session &s);

  // Records the answer (open file descriptors are tracked from results).
  void observe(const Op &op, const Answer &a);

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  uint64_t pick(uint64_t n) { return n ? rng_() % n : 0; }

 private:
  Op mmap_op(Session &s);
  Op munmap_op(Session &s);
  Op mprotect_op(Session &s);
  Op file_op(Session &s);
  Op io_op(Session &s, uint64_t fd);
  Op touch_op(Session &s);
  Op memory_op(Session &s);
  Op rlimit_op(Session &s);
  Op mremap_op(Session &s);
  Op brk_op(Session &s);
  Op mlock_op(Session &s);
  Op madvise_op(Session &s);
  Op msync_op(Session &s);
  Op mincore_op(Session &s);
  Op mseal_op(Session &s);
  Op prctl_op(Session &s);
  Op fork_op(Session &s);
  // Aimed where random operations rarely land (see generator.cpp).
  Op aimed_op(Session &s);
  Op two_bad_arguments(Session &s, const std::vector<vmspace::VmaInfo> &vmas);
  Op near_limit_op(Session &s, const std::vector<vmspace::VmaInfo> &vmas,
                   const std::function<bool(const vmspace::VmaInfo &)> &plain);
  // A range for the VMA calls: a VMA or part of it, several VMAs, a hole, odd values.
  void some_range(Session &s, uint64_t *addr, uint64_t *len);
  // Bytes of mapped memory in [addr, addr+len) (what locking or populating would allocate).
  uint64_t mapped_in(Session &s, uint64_t addr, uint64_t len);
  uint64_t lock_cost(Session &s, uint64_t addr, uint64_t len, bool onfault);
  // Whether a VMA in [addr, addr+len) may hold guard markers (populating it would fault).
  bool guarded_in(Session &s, uint64_t addr, uint64_t len);
  // Future mappings of this slot's address space are locked and populated.
  bool &future_locked() { return mcl_future_[mm_of_[slot_]]; }
  // The VMAs the touch op may write: writable, backed, not the oracle's own.
  // (Readable, for loads.)
  std::vector<vmspace::VmaInfo> touchable(Session &s, bool write = true);
  uint64_t some_addr(Session &s, uint64_t len, bool fixed);
  uint64_t some_len();
  uint64_t some_prot();
  bool overlaps_protected(Session &s, uint64_t a, uint64_t len);

  std::mt19937_64 rng_;
  std::vector<OpenFd> fds_;
  std::map<std::string, uint64_t> sizes_;  // current size of each session file
  int ops_ = 0;
  int slot_ = 0;                               // the process the op being made is for
  int mm_of_[Session::kSlots] = {0, 1, 2, 3};  // vfork children share their parent's
  bool mcl_future_[Session::kSlots] = {};
  int limit_target_ = -1;  // the VMA count near_limit_op steers to
  int limit_case_ = 0;     // and the call it makes there
};

}  // namespace difftest
