// Pool<T>: fixed-size object allocation for VMAs and tree nodes.
//
// Objects come from chunks that grow geometrically; chunks of 2 MiB and more are aligned and
// marked MADV_HUGEPAGE, so that an address space with a million VMAs is covered by a few dozen
// TLB entries instead of tens of thousands. Freed objects are reused first (LIFO, so they
// are likely still in cache). Everything is released with the pool.
//
// Reservations (Linux: vma_iter_prealloc): an operation that changes the VMA set first calls
// reserve(n), which asks the host for memory if fewer than n objects are free and fails,
// changing nothing, when it cannot; the next n make() calls then never fail. That is how a
// failed allocation becomes ENOMEM before anything changed instead of a half-done change.
//
// Under AddressSanitizer the pool falls back to one allocation per object so that
// use-after-free and leaks of single objects stay visible (reservations hold those objects'
// memory).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "base/meter.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define VMSPACE_POOL_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMSPACE_POOL_PLAIN 1
#endif
#endif

namespace vmspace {

// Allocation-failure injection for tests (tests/unit/alloc_failure_test.cpp): when
// fail_countdown is n > 0, the n-th pool allocation event from now on this thread fails
// (a reserve() counts as one even when it would not need the host, as if memory were
// exhausted right then; so does a make() that has to ask the host for memory).
struct PoolFaults {
  static inline thread_local long fail_countdown = 0;
  static inline thread_local long events = 0;  // allocation events seen (while counting down)
  static bool fail_now() {
    if (fail_countdown <= 0) return false;
    events++;
    return --fail_countdown == 0;
  }
};

template <class T>
class Pool {
 public:
  Pool() = default;
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;
  ~Pool() {
#ifdef VMSPACE_POOL_PLAIN
    for (void *p : spare_) ::operator delete(p);
#endif
    for (auto &c : chunks_) ::munmap(c.first, c.second);
    if (meter_) meter_->charge(-static_cast<int64_t>(bytes_));
  }

  // Chunks (objects, under AddressSanitizer) are charged to `m` from now on.
  void set_meter(MemoryMeter *m) {
    if (meter_) meter_->charge(-static_cast<int64_t>(bytes_));
    meter_ = m;
    if (meter_) meter_->charge(static_cast<int64_t>(bytes_));
  }
  // The host memory the pool holds.
  size_t bytes() const { return bytes_; }
  // Objects make() can return without asking the host (a lower bound under AddressSanitizer).
  size_t available() const {
#ifdef VMSPACE_POOL_PLAIN
    return spare_.size();
#else
    return free_count_ + static_cast<size_t>(end_ - cur_) / kSlot;
#endif
  }

  // Makes sure the next n make() calls need no memory from the host. False when the host
  // has none (nothing is made or freed then).
  [[nodiscard]] bool reserve(size_t n) {
    if (PoolFaults::fail_now()) return false;
#ifdef VMSPACE_POOL_PLAIN
    if (spare_.capacity() < n) {
      std::vector<void *> bigger;
      if (!try_vector_reserve(bigger, n)) return false;
      bigger = spare_;
      spare_.swap(bigger);
    }
    while (spare_.size() < n) {
      void *p = ::operator new(kSlot, std::nothrow);
      if (!p) return false;
      spare_.push_back(p);
      account(static_cast<int64_t>(kSlot));
    }
#else
    while (free_count_ + static_cast<size_t>(end_ - cur_) / kSlot < n)
      if (!try_grow()) return false;
#endif
    return true;
  }

  template <class... Args>
  T *make(Args &&...args) {
#ifdef VMSPACE_POOL_PLAIN
    void *p;
    if (!spare_.empty()) {
      p = spare_.back();
      spare_.pop_back();
    } else {
      if (PoolFaults::fail_now()) throw std::bad_alloc();
      p = ::operator new(kSlot);
      account(static_cast<int64_t>(kSlot));
    }
    return new (p) T(std::forward<Args>(args)...);
#else
    void *p;
    if (free_) {
      p = free_;
      free_ = free_->next;
      free_count_--;
    } else {
      if (cur_ + kSlot > end_) {
        if (PoolFaults::fail_now()) throw std::bad_alloc();
        if (!try_grow()) out_of_memory();
      }
      p = cur_;
      cur_ += kSlot;
    }
    return new (p) T(std::forward<Args>(args)...);
#endif
  }

  void destroy(T *t) {
    t->~T();
#ifdef VMSPACE_POOL_PLAIN
    account(-static_cast<int64_t>(kSlot));
    ::operator delete(t);
#else
    FreeSlot *s = reinterpret_cast<FreeSlot *>(t);
    s->next = free_;
    free_ = s;
    free_count_++;
#endif
  }

 private:
  struct FreeSlot {
    FreeSlot *next;
  };
  static constexpr size_t kSlot = (sizeof(T) + alignof(T) - 1) / alignof(T) * alignof(T);
  static constexpr size_t kHuge = 2u << 20;

  void account(int64_t n) {
    bytes_ += static_cast<size_t>(n);
    if (meter_) meter_->charge(n);
  }
  // The host has no memory left for an allocation nobody reserved: the program's
  // out-of-memory handler decides (the CLI ends the run with a message), else std::bad_alloc.
  [[noreturn]] static void out_of_memory() {
    if (std::new_handler h = std::get_new_handler()) h();
    throw std::bad_alloc();
  }
  static bool try_vector_reserve(std::vector<void *> &v, size_t n) {
    try {
      v.reserve(n);
      return true;
    } catch (const std::bad_alloc &) {
      return false;
    }
  }

  // Adds a chunk; false when the host has no memory for it.
  bool try_grow() {
    if (chunks_.size() == chunks_.capacity()) {
      try {
        chunks_.reserve(chunks_.size() * 2 + 4);
      } catch (const std::bad_alloc &) {
        return false;
      }
    }
    size_t size = next_size_;
    void *mem;
    size_t mapped;
    if (size >= kHuge) {
      // A 2 MiB-aligned chunk that transparent huge pages can back.
      mapped = size + kHuge;
      char *raw = static_cast<char *>(
          ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (raw == MAP_FAILED) return false;
      char *aligned =
          reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(raw) + kHuge - 1) & ~(kHuge - 1));
      if (aligned > raw) ::munmap(raw, static_cast<size_t>(aligned - raw));
      size_t tail = static_cast<size_t>(raw + mapped - (aligned + size));
      if (tail) ::munmap(aligned + size, tail);
      ::madvise(aligned, size, MADV_HUGEPAGE);
      mem = aligned;
      mapped = size;
    } else {
      mapped = size;
      mem = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED) return false;
    }
    if (next_size_ < (64u << 20)) next_size_ *= 2;
    chunks_.push_back({mem, mapped});  // cannot allocate: reserved above
    account(static_cast<int64_t>(mapped));
    // The rest of the current chunk goes to the free list, so reservations stay exact.
    while (cur_ && cur_ + kSlot <= end_) {
      FreeSlot *s = reinterpret_cast<FreeSlot *>(cur_);
      s->next = free_;
      free_ = s;
      free_count_++;
      cur_ += kSlot;
    }
    cur_ = static_cast<char *>(mem);
    end_ = cur_ + mapped;
    return true;
  }

  std::vector<std::pair<void *, size_t>> chunks_;
  char *cur_ = nullptr;
  char *end_ = nullptr;
  FreeSlot *free_ = nullptr;
  size_t free_count_ = 0;
#ifdef VMSPACE_POOL_PLAIN
  std::vector<void *> spare_;  // reserved objects' memory
#endif
  size_t next_size_ = 64u << 10;
  size_t bytes_ = 0;
  MemoryMeter *meter_ = nullptr;
};

}  // namespace vmspace
