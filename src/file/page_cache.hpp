// PageCache: the pages of one inode's contents in guest memory (Linux: struct address_space).
//
// Every mapping of the file in every process of the System, and the file I/O calls, see the
// same frames, so a store through a MAP_SHARED mapping is visible at once to every other
// mapping. A page is read from the host file when first needed (the part past the end of the
// file is zero); pages written through shared mappings are dirty until they are written back
// (msync MS_SYNC, fsync, the inode's end): only the bytes below the file's size reach the
// file. vmspace-owned objects (shmem: memfd, shared anonymous memory) have no host file: their
// cache is their contents.
//
// A write-back error is kept (Linux: errseq on the mapping) and reported once by the next
// sync; the page stays dirty.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "base/mutex.hpp"
#include "page/frames.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

// Which of n pages from page pgoff of the host file open as fd are in the host kernel's page
// cache (mincore of a file page vmspace never read: the host's cache is the file's).
std::vector<uint8_t> host_residency(int fd, uint64_t pgoff, uint64_t n, uint64_t page_size);

class PageCache {
 public:
  explicit PageCache(FramePool &frames) : frames_(frames) {}
  uint64_t page_size() const { return frames_.page_size(); }
  ~PageCache();  // drops the frames (write back first: writeback())
  PageCache(const PageCache &) = delete;
  PageCache &operator=(const PageCache &) = delete;

  // The frame of page pgoff, read from read_fd (when >= 0) on first use; the cache keeps its
  // own reference, the caller takes one with FramePool::get if it keeps the frame. kZero when
  // guest memory is exhausted.
  uint32_t page(uint64_t pgoff, int read_fd, uint64_t file_size);
  // read(2) and write(2) through the cache (Linux: filemap_read, generic_perform_write).
  // copy_out copies up to n bytes from offset off into dst, never past file_size, and
  // returns how many it copied; copy_in stores n bytes at off, marking the pages dirty (the
  // caller extends the file's size). Pages are read from read_fd on first use. ENOMEM when
  // guest memory is exhausted before any byte was copied (else the bytes done).
  Result<uint64_t> copy_out(uint64_t off, uint8_t *dst, uint64_t n, int read_fd,
                            uint64_t file_size);
  Result<uint64_t> copy_in(uint64_t off, const uint8_t *src, uint64_t n, int read_fd,
                           uint64_t file_size);
  // The frame of page pgoff if it is cached, else kZero.
  uint32_t cached(uint64_t pgoff);
  // A descriptor the cache may write back through (duplicated; the first one given is kept).
  void set_writer(int fd);
  bool has_writer();
  // Writes the dirty pages in [first, last] back to the file (at most file_size bytes).
  // Returns the first error since the last call (Linux: file_check_and_advance_wb_err).
  Result<void> writeback(uint64_t first, uint64_t last, uint64_t file_size);
  // The file shrank or grew to size: pages wholly past it leave the cache (mappings fault them
  // again, as SIGBUS), the tail of the partial last page becomes zero.
  void truncate(uint64_t size);
  // Pages [first, last] leave the cache (a hole punched in the file).
  void drop(uint64_t first, uint64_t last);
  // Pages of [first, last] in the cache (mincore of a file mapping).
  bool resident(uint64_t pgoff);
  // Readahead (Linux: page_cache_ra_order with 4 KiB folios, do_page_cache_ra): reads the
  // pages of [start, start + n) below the file's end that are not cached (in this cache or
  // the host's), and marks PG_readahead the page async pages before the window's end.
  void readahead(uint64_t start, uint64_t n, uint64_t async, int read_fd, uint64_t file_size);
  // PG_readahead: the page a readahead marked, where the next one would start. Fault-around
  // does not map a marked page (next_uptodate_folio skips it); the fault on it clears the mark.
  void set_readahead_mark(uint64_t pgoff);
  bool readahead_marked(uint64_t pgoff);
  bool clear_readahead_mark(uint64_t pgoff);                  // whether it was marked
  void clear_readahead_marks(uint64_t first, uint64_t last);  // of pages [first, last]
  // The first cached page at or after pgoff, or ~0.
  uint64_t next_resident(uint64_t pgoff);
  uint64_t pages();

 private:
  FramePool &frames_;
  Mutex mu_;
  std::map<uint64_t, uint32_t> pages_
      VMS_GUARDED_BY(mu_);                        // page -> frame (dirty: the frame's flag)
  std::set<uint64_t> marks_ VMS_GUARDED_BY(mu_);  // cached pages with PG_readahead
  int writer_ VMS_GUARDED_BY(mu_) = -1;
  int wb_err_ VMS_GUARDED_BY(mu_) = 0;
};

}  // namespace vmspace
