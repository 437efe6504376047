#include "page/frames.hpp"

#include <sys/mman.h>

#include <cstring>

namespace vmspace {

namespace {
constexpr unsigned kChunkShift = 9;  // 512 frames per chunk
unsigned log2_of(uint64_t x) {
  unsigned s = 0;
  while ((1ull << s) < x) s++;
  return s;
}
}  // namespace

FramePool::FramePool(uint64_t page_size, uint64_t limit_bytes, MemoryMeter *meter)
    : page_size_(page_size), page_shift_(log2_of(page_size)), meter_(meter) {
  chunk_shift_ = kChunkShift;
  chunk_mask_ = (1u << kChunkShift) - 1;
  max_frames_ = limit_bytes / page_size;
  if (max_frames_ > 0xffffff00ull) max_frames_ = 0xffffff00ull;  // frame numbers are 32 bits
  // Chunk 0 holds the zero page (frame 0) as its first frame.
  nchunks_max_ = (max_frames_ + 1 + chunk_mask_) >> chunk_shift_;
  chunks_ = std::make_unique<Chunk[]>(nchunks_max_ ? nchunks_max_ : 1);
  MutexLock g(mu_);
  if (!grow()) throw std::bad_alloc();
  meta(kZero).word.store(kRef);
}

FramePool::~FramePool() {
  MutexLock g(mu_);
  const uint64_t bytes = (page_size_ << chunk_shift_) + (sizeof(Meta) << chunk_shift_);
  for (uint64_t i = 0; i < nchunks_; i++) {
    ::munmap(chunks_[i].data, page_size_ << chunk_shift_);
    delete[] chunks_[i].meta;
  }
  if (meter_) meter_->charge(-static_cast<int64_t>(bytes * nchunks_));
}

bool FramePool::grow() {
  if (nchunks_ >= nchunks_max_) return false;
  const uint64_t data_bytes = page_size_ << chunk_shift_;
  const uint64_t bytes = data_bytes + (sizeof(Meta) << chunk_shift_);
  if (meter_ && !meter_->fits(bytes)) return false;
  void *mem =
      ::mmap(nullptr, data_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  Meta *m = new (std::nothrow) Meta[1u << chunk_shift_];
  if (!m) {
    ::munmap(mem, data_bytes);
    return false;
  }
  chunks_[nchunks_].data = static_cast<uint8_t *>(mem);
  chunks_[nchunks_].meta = m;
  nchunks_++;
  if (meter_) meter_->charge(static_cast<int64_t>(bytes));
  return true;
}

uint32_t FramePool::alloc() {
  uint32_t f;
  {
    MutexLock g(mu_);
    if (free_ != kZero) {
      f = free_;
      std::memcpy(&free_, data(f), sizeof free_);
    } else {
      if (next_ > max_frames_) return kZero;
      if ((next_ >> chunk_shift_) >= nchunks_ && !grow()) return kZero;
      f = static_cast<uint32_t>(next_++);
    }
  }
  used_.fetch_add(1, std::memory_order_relaxed);
  std::memset(data(f), 0, page_size_);
  meta(f).word.store(kRef, std::memory_order_relaxed);
  return f;
}

void FramePool::release(uint32_t f, uint64_t what) {
  if (f == kZero) return;
  if ((meta(f).word.fetch_sub(what, std::memory_order_acq_rel) & kRefMask) != 1) return;
  used_.fetch_sub(1, std::memory_order_relaxed);
  MutexLock g(mu_);
  std::memcpy(data(f), &free_, sizeof free_);
  free_ = f;
}

}  // namespace vmspace
