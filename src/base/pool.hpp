// Pool<T>: fixed-size object allocation for VMAs and tree nodes.
//
// Objects come from chunks that grow geometrically; chunks of 2 MiB and more are aligned and
// marked MADV_HUGEPAGE, so that an address space with a million VMAs is covered by a few dozen
// TLB entries instead of tens of thousands. Freed objects are reused first (LIFO, so they
// are likely still in cache). Everything is released with the pool.
//
// Under AddressSanitizer the pool falls back to new/delete so that use-after-free and leaks of
// single objects stay visible.
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

template <class T>
class Pool {
 public:
  Pool() = default;
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;
  ~Pool() {
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

  template <class... Args>
  T *make(Args &&...args) {
#ifdef VMSPACE_POOL_PLAIN
    account(kSlot);
    return new T(std::forward<Args>(args)...);
#else
    void *p;
    if (free_) {
      p = free_;
      free_ = free_->next;
    } else {
      if (cur_ + kSlot > end_) grow();
      p = cur_;
      cur_ += kSlot;
    }
    return new (p) T(std::forward<Args>(args)...);
#endif
  }

  void destroy(T *t) {
#ifdef VMSPACE_POOL_PLAIN
    account(-static_cast<int64_t>(kSlot));
    delete t;
#else
    t->~T();
    FreeSlot *s = reinterpret_cast<FreeSlot *>(t);
    s->next = free_;
    free_ = s;
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
  // The host has no memory left: the program's out-of-memory handler decides (the CLI ends
  // the run with a message), else std::bad_alloc.
  [[noreturn]] static void out_of_memory() {
    if (std::new_handler h = std::get_new_handler()) h();
    throw std::bad_alloc();
  }

  void grow() {
    size_t size = next_size_;
    if (next_size_ < (64u << 20)) next_size_ *= 2;
    void *mem;
    size_t mapped;
    if (size >= kHuge) {
      // A 2 MiB-aligned chunk that transparent huge pages can back.
      mapped = size + kHuge;
      char *raw = static_cast<char *>(
          ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (raw == MAP_FAILED) out_of_memory();
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
      if (mem == MAP_FAILED) out_of_memory();
    }
    chunks_.push_back({mem, mapped});
    account(static_cast<int64_t>(mapped));
    cur_ = static_cast<char *>(mem);
    end_ = cur_ + mapped;
  }

  std::vector<std::pair<void *, size_t>> chunks_;
  char *cur_ = nullptr;
  char *end_ = nullptr;
  FreeSlot *free_ = nullptr;
  size_t next_size_ = 64u << 10;
  size_t bytes_ = 0;
  MemoryMeter *meter_ = nullptr;
};

}  // namespace vmspace
