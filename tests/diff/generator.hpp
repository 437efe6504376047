// Random, seeded operation sequences for the differential test: every flag family of mmap,
// file and anonymous mappings, hints, MAP_FIXED and MAP_FIXED_NOREPLACE, bad arguments of
// every kind, munmap and mprotect over VMAs, holes and edges, descriptor calls, resource
// limits, memory touches (which decide anon_vma state and so merging) and runs near
// vm.max_map_count.
#pragma once

#include <cstdint>
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
  uint64_t size;  // file size known to the generator
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
  Op touch_op(Session &s);
  Op rlimit_op(Session &s);
  uint64_t some_addr(Session &s, uint64_t len, bool fixed);
  uint64_t some_len();
  uint64_t some_prot();
  bool overlaps_protected(Session &s, uint64_t a, uint64_t len);

  std::mt19937_64 rng_;
  std::vector<OpenFd> fds_;
  std::map<std::string, uint64_t> sizes_;  // current size of each session file
  int ops_ = 0;
};

}  // namespace difftest
