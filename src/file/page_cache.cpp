#include "file/page_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmspace {

std::vector<uint8_t> host_residency(int fd, uint64_t pgoff, uint64_t n, uint64_t page_size) {
  std::vector<uint8_t> out(n, 0);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return out;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint64_t host_page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (page_size != host_page || pgoff * page_size >= size) return out;
  const uint64_t pages_in = (size - pgoff * page_size + page_size - 1) / page_size;
  const uint64_t m = n < pages_in ? n : pages_in;
  void *p = ::mmap(nullptr, m * page_size, PROT_NONE, MAP_SHARED, fd,
                   static_cast<off_t>(pgoff * page_size));
  if (p == MAP_FAILED) return out;
  std::vector<unsigned char> v(m);
  if (::mincore(p, m * page_size, v.data()) == 0)
    for (uint64_t i = 0; i < m; i++) out[i] = v[i] & 1;
  ::munmap(p, m * page_size);
  return out;
}

namespace {
// Whether the host kernel's cache holds the page at off dirty (written and not yet written
// back, as a file a script just wrote is): the kernel's smaps counts such a page as dirty in
// every mapping, so vmspace's copy starts dirty too (Linux: cachestat(2), 6.5).
bool host_dirty(int fd, uint64_t off, uint64_t len) {
  struct {
    uint64_t off, len;
  } range{off, len};
  struct {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
  } st{};
  constexpr long kCachestat = 451;
  return ::syscall(kCachestat, fd, &range, &st, 0) == 0 && st.nr_dirty > 0;
}
}  // namespace

PageCache::~PageCache() {
  MutexLock g(mu_);
  for (auto &[off, f] : pages_) frames_.put(f);
  if (writer_ >= 0) ::close(writer_);
}

uint32_t PageCache::page(uint64_t pgoff, int read_fd, uint64_t file_size) {
  MutexLock g(mu_);
  auto it = pages_.find(pgoff);
  if (it != pages_.end()) return it->second;
  const uint32_t f = frames_.alloc();
  if (f == FramePool::kZero) return f;
  const uint64_t ps = frames_.page_size();
  const uint64_t off = pgoff * ps;
  if (read_fd >= 0 && off < file_size) {
    // No host readahead: which pages the host's cache holds is what the kernel's would hold
    // (fault-around asks it), and vmspace's own reads must not add to it.
    (void)::posix_fadvise(read_fd, 0, 0, POSIX_FADV_RANDOM);
    uint64_t want = file_size - off < ps ? file_size - off : ps;
    uint8_t *d = frames_.data(f);
    uint64_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(read_fd, d + got, want - got, static_cast<off_t>(off + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a short file reads as zeros (as a sparse one would)
      got += static_cast<uint64_t>(n);
    }
    if (host_dirty(read_fd, off, ps)) frames_.set_dirty(f);
  }
  try {
    pages_.emplace(pgoff, f);
  } catch (...) {
    frames_.put(f);
    throw;
  }
  return f;
}

Result<uint64_t> PageCache::copy_out(uint64_t off, uint8_t *dst, uint64_t n, int read_fd,
                                     uint64_t file_size) {
  if (off >= file_size) return 0;
  if (n > file_size - off) n = file_size - off;
  const uint64_t ps = frames_.page_size();
  uint64_t done = 0;
  while (done < n) {
    const uint64_t at = off + done, in_page = at % ps;
    const uint64_t k = n - done < ps - in_page ? n - done : ps - in_page;
    const uint32_t f = page(at / ps, read_fd, file_size);
    if (f == FramePool::kZero) {
      if (done) break;
      return fail(Errno::nomem);
    }
    std::memcpy(dst + done, frames_.data(f) + in_page, k);
    done += k;
  }
  return done;
}

Result<uint64_t> PageCache::copy_in(uint64_t off, const uint8_t *src, uint64_t n, int read_fd,
                                    uint64_t file_size) {
  const uint64_t ps = frames_.page_size();
  uint64_t done = 0;
  while (done < n) {
    const uint64_t at = off + done, in_page = at % ps;
    const uint64_t k = n - done < ps - in_page ? n - done : ps - in_page;
    const uint32_t f = page(at / ps, read_fd, file_size);
    if (f == FramePool::kZero) {
      if (done) break;
      return fail(Errno::nomem);
    }
    std::memcpy(frames_.data(f) + in_page, src + done, k);
    frames_.set_dirty(f);
    done += k;
  }
  return done;
}

uint32_t PageCache::cached(uint64_t pgoff) {
  MutexLock g(mu_);
  auto it = pages_.find(pgoff);
  return it == pages_.end() ? FramePool::kZero : it->second;
}

void PageCache::readahead(uint64_t start, uint64_t n, uint64_t async, int read_fd,
                          uint64_t file_size) {
  const uint64_t ps = frames_.page_size();
  const uint64_t file_pages = (file_size + ps - 1) / ps;
  const uint64_t end = std::min(start + n, file_pages);
  if (end <= start) return;
  // Which pages were there already (here or in the host's cache): readahead skips them.
  std::vector<uint8_t> had(end - start, 0);
  if (async && read_fd >= 0) had = host_residency(read_fd, start, end - start, ps);
  for (uint64_t p = start; p < end; p++) {
    if (cached(p) != FramePool::kZero) had[p - start] = 1;
    (void)page(p, read_fd, file_size);
  }
  if (!async) return;
  // The mark: async pages before the window's end. When a page was there already, folio
  // allocation stops at it and do_page_cache_ra reads the rest, cutting the window at EOF
  // first and counting the mark from there; a window under 4 pages goes there at once.
  uint64_t first_had = end;
  for (uint64_t p = start; p < end && first_had == end; p++)
    if (had[p - start]) first_had = p;
  if (n < 4) first_had = start;
  uint64_t mark = ~uint64_t{0};
  if (first_had == end) {
    if (start + n - async < end) mark = start + n - async;
  } else {
    const uint64_t nr = std::min(n - (first_had - start), file_pages - first_had);
    if (async <= nr) mark = first_had + nr - async;
  }
  if (mark < end && !had[mark - start]) set_readahead_mark(mark);
}

void PageCache::set_readahead_mark(uint64_t pgoff) {
  MutexLock g(mu_);
  if (pages_.count(pgoff)) marks_.insert(pgoff);
}

bool PageCache::readahead_marked(uint64_t pgoff) {
  MutexLock g(mu_);
  return !marks_.empty() && marks_.count(pgoff) != 0;
}

bool PageCache::clear_readahead_mark(uint64_t pgoff) {
  MutexLock g(mu_);
  return marks_.erase(pgoff) != 0;
}

void PageCache::clear_readahead_marks(uint64_t first, uint64_t last) {
  MutexLock g(mu_);
  if (!marks_.empty()) marks_.erase(marks_.lower_bound(first), marks_.upper_bound(last));
}

void PageCache::set_writer(int fd) {
  MutexLock g(mu_);
  if (writer_ >= 0 || fd < 0) return;
  writer_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  // Write-back puts pages where they belong: a guest's O_APPEND (which the host descriptor
  // carries) must not move them to the end. vmspace writes through no other copy of it.
  const int fl = writer_ >= 0 ? ::fcntl(writer_, F_GETFL) : -1;
  if (fl >= 0 && (fl & O_APPEND)) (void)::fcntl(writer_, F_SETFL, fl & ~O_APPEND);
}

bool PageCache::has_writer() {
  MutexLock g(mu_);
  return writer_ >= 0;
}

Result<void> PageCache::writeback(uint64_t first, uint64_t last, uint64_t file_size) {
  MutexLock g(mu_);
  const uint64_t ps = frames_.page_size();
  for (auto it = pages_.lower_bound(first); it != pages_.end() && it->first <= last; ++it) {
    const uint32_t f = it->second;
    const uint64_t off = it->first * ps;
    if (writer_ < 0 && off < file_size) continue;  // vmspace-owned contents: nothing to write to
    if (!frames_.test_and_clean(f)) continue;
    if (off >= file_size) continue;  // stores past the end never reach the file
    const uint64_t want = file_size - off < ps ? file_size - off : ps;
    const uint8_t *d = frames_.data(f);
    uint64_t done = 0;
    int err = 0;
    while (done < want) {
      const ssize_t n = ::pwrite(writer_, d + done, want - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : ENOSPC;
        break;
      }
      done += static_cast<uint64_t>(n);
    }
    if (err) {
      wb_err_ = err;  // the page stays dirty
      frames_.set_dirty(f);
    }
  }
  if (wb_err_) {
    const int e = wb_err_;
    wb_err_ = 0;
    return fail(static_cast<Errno>(e));
  }
  return {};
}

void PageCache::truncate(uint64_t size) {
  MutexLock g(mu_);
  const uint64_t ps = frames_.page_size();
  const uint64_t keep = (size + ps - 1) / ps;  // pages that still hold bytes of the file
  // Mappings look again even when no cached page goes: their private copies of pages past
  // the new end go too (drop_stale).
  frames_.note_eviction();
  marks_.erase(marks_.lower_bound(keep), marks_.end());
  for (auto it = pages_.lower_bound(keep); it != pages_.end();) {
    frames_.put(it->second);
    frames_.note_eviction();
    it = pages_.erase(it);
  }
  if (size % ps) {
    auto it = pages_.find(size / ps);
    if (it != pages_.end()) std::memset(frames_.data(it->second) + size % ps, 0, ps - size % ps);
  }
}

void PageCache::drop(uint64_t first, uint64_t last) {
  MutexLock g(mu_);
  marks_.erase(marks_.lower_bound(first), marks_.upper_bound(last));
  for (auto it = pages_.lower_bound(first); it != pages_.end() && it->first <= last;) {
    frames_.put(it->second);
    frames_.note_eviction();
    it = pages_.erase(it);
  }
}

bool PageCache::resident(uint64_t pgoff) {
  MutexLock g(mu_);
  return pages_.count(pgoff) != 0;
}

uint64_t PageCache::next_resident(uint64_t pgoff) {
  MutexLock g(mu_);
  auto it = pages_.lower_bound(pgoff);
  return it == pages_.end() ? ~0ull : it->first;
}

uint64_t PageCache::pages() {
  MutexLock g(mu_);
  return pages_.size();
}

}  // namespace vmspace
