// MemoryMeter: the host memory a System's guest model holds, against a limit.
//
// The model's memory grows with what the guest makes: VMAs and their tree nodes (Pool
// chunks), processes, descriptor table entries. Each of those charges the meter of its
// System; calls that would make more check over() first and fail with ENOMEM (as Linux does
// when it cannot allocate a vm_area_struct) once the limit is reached, and mark the meter
// exhausted, so that a front end can stop with a clear message instead of the host process
// running out of memory. Charges are approximate where objects are small and many (a fixed
// size per VMA or descriptor) and exact for pool chunks; the limit can be passed by at most
// one chunk (64 MiB) and one call's objects.
#pragma once

#include <atomic>
#include <cstdint>

namespace vmspace {

class MemoryMeter {
 public:
  explicit MemoryMeter(uint64_t limit = ~0ull) : limit_(limit) {}
  MemoryMeter(const MemoryMeter &) = delete;
  MemoryMeter &operator=(const MemoryMeter &) = delete;

  void charge(int64_t bytes) { used_.fetch_add(bytes, std::memory_order_relaxed); }
  // Would `more` bytes still fit under the limit?
  bool fits(uint64_t more) const {
    const int64_t u = used_.load(std::memory_order_relaxed);
    return u < 0 || static_cast<uint64_t>(u) + more <= limit_;
  }
  // True (and the meter marked exhausted) when `more` bytes do not fit.
  bool refuse(uint64_t more = 0) {
    if (fits(more)) return false;
    exhausted_.store(true, std::memory_order_relaxed);
    return true;
  }
  uint64_t used() const {
    const int64_t u = used_.load(std::memory_order_relaxed);
    return u < 0 ? 0 : static_cast<uint64_t>(u);
  }
  uint64_t limit() const { return limit_; }
  bool exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> used_{0};
  uint64_t limit_;
  std::atomic<bool> exhausted_{false};
};

}  // namespace vmspace
