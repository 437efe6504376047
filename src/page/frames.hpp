// FramePool: the guest's physical memory (Linux: the page allocator and struct page).
//
// Frames are page-sized blocks of host memory, numbered from 1; frame 0 is the shared zero
// page (read faults on untouched private anonymous memory map it; it is never freed, never
// written and not counted in RSS). Host memory is taken in chunks as frames are first needed
// and charged to the System's MemoryMeter; the pool never holds more than its limit (the
// System's RAM), so a guest can never make the host process grow past it: alloc() then fails
// and the caller does what Linux's OOM killer would.
//
// Per frame the pool keeps 8 bytes, one atomic word: a dirty flag, a reference count (page
// tables, page caches and anything else that holds the frame) and a map count (page-table
// entries that map it, which PSS divides by). It is atomic: frames are shared between address
// spaces with different locks. data() needs no lock: chunks never move, and the chunk table is
// sized at construction.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "base/meter.hpp"
#include "base/mutex.hpp"

namespace vmspace {

class FramePool {
 public:
  static constexpr uint32_t kZero = 0;  // the zero page

  FramePool(uint64_t page_size, uint64_t limit_bytes, MemoryMeter *meter);
  ~FramePool();
  FramePool(const FramePool &) = delete;
  FramePool &operator=(const FramePool &) = delete;

  uint64_t page_size() const { return page_size_; }
  // A frame with one reference, zero-filled; kZero when the pool is at its limit (or the
  // host has no memory left).
  uint32_t alloc();
  void get(uint32_t f) {
    if (f != kZero) meta(f).word.fetch_add(kRef, std::memory_order_relaxed);
  }
  // Drops a reference; the frame is free again at zero.
  void put(uint32_t f) { release(f, kRef); }
  uint32_t refs(uint32_t f) const {
    return static_cast<uint32_t>(meta(f).word.load(std::memory_order_acquire) & kRefMask);
  }
  // Page-table entries that map the frame (Linux: folio_mapcount).
  void map(uint32_t f) { meta(f).word.fetch_add(kMap, std::memory_order_relaxed); }
  void unmap(uint32_t f) { meta(f).word.fetch_sub(kMap, std::memory_order_relaxed); }
  // A reference and a mapping at once (one atomic: fork's copy of an entry).
  void get_mapped(uint32_t f) {
    if (f != kZero) meta(f).word.fetch_add(kRef | kMap, std::memory_order_relaxed);
  }
  // A mapping and its reference given back at once.
  void unmap_put(uint32_t f) {
    if (f != kZero) release(f, kRef | kMap);
  }
  uint32_t mapcount(uint32_t f) const {
    return static_cast<uint32_t>((meta(f).word.load(std::memory_order_relaxed) >> 32) & kMapMask);
  }
  // Written since it was last cleaned (a page-cache page waiting for write-back).
  void set_dirty(uint32_t f) {
    if (!(meta(f).word.load(std::memory_order_relaxed) & kDirty))
      meta(f).word.fetch_or(kDirty, std::memory_order_release);
  }
  bool dirty(uint32_t f) const { return meta(f).word.load(std::memory_order_acquire) & kDirty; }
  bool test_and_clean(uint32_t f) {
    const bool was = meta(f).word.fetch_and(~kDirty, std::memory_order_acq_rel) & kDirty;
    // A store an Accessor makes through a cached pointer must dirty the page again.
    if (was) tlb_epoch_.fetch_add(1, std::memory_order_seq_cst);
    return was;
  }
  // Bumped by every clean and eviction: an Accessor's cached pointer holds while it is the
  // value the entry was made under.
  const std::atomic<uint64_t> &tlb_epoch() const { return tlb_epoch_; }

  uint8_t *data(uint32_t f) const {
    return chunks_[f >> chunk_shift_].data +
           (static_cast<uint64_t>(f & chunk_mask_) << page_shift_);
  }

  uint64_t limit_frames() const { return max_frames_; }
  uint64_t used_frames() const { return used_.load(std::memory_order_relaxed); }
  // Counts pages a page cache gave up (truncation, holes): mappings elsewhere may still map
  // them and drop those entries when they next look (AddressSpace::drop_stale).
  void note_eviction() {
    evictions_.fetch_add(1, std::memory_order_release);
    tlb_epoch_.fetch_add(1, std::memory_order_seq_cst);
  }
  uint64_t evictions() const { return evictions_.load(std::memory_order_acquire); }

 private:
  // One word per frame: the reference count in the low 32 bits, the map count in the 31
  // above, the dirty flag on top (8 bytes; the kernel's struct page takes 64).
  static constexpr uint64_t kRef = 1, kRefMask = 0xffffffffull;
  static constexpr uint64_t kMap = 1ull << 32, kMapMask = 0x7fffffffull;
  static constexpr uint64_t kDirty = 1ull << 63;
  struct Meta {
    std::atomic<uint64_t> word{0};
  };
  void release(uint32_t f, uint64_t what);
  struct Chunk {
    uint8_t *data = nullptr;
    Meta *meta = nullptr;
  };
  Meta &meta(uint32_t f) const { return chunks_[f >> chunk_shift_].meta[f & chunk_mask_]; }
  bool grow() VMS_REQUIRES(mu_);  // maps one more chunk

  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> tlb_epoch_{0};
  const uint64_t page_size_;
  const unsigned page_shift_;
  unsigned chunk_shift_ = 0;  // log2(frames per chunk)
  uint32_t chunk_mask_ = 0;
  uint64_t max_frames_ = 0;
  MemoryMeter *meter_;
  std::unique_ptr<Chunk[]> chunks_;  // fixed size: max_frames_ / frames per chunk + 1
  uint64_t nchunks_max_ = 0;
  std::atomic<uint64_t> used_{0};

  Mutex mu_;
  uint64_t nchunks_ VMS_GUARDED_BY(mu_) = 0;
  uint32_t free_ VMS_GUARDED_BY(mu_) = kZero;  // free frames, linked through their first bytes
  uint64_t next_ VMS_GUARDED_BY(mu_) = 1;      // frames below this were handed out once
};

}  // namespace vmspace
