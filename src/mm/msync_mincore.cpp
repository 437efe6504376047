// msync(2) and mincore(2) at the VMA level (Linux: mm/msync.c sys_msync, mm/mincore.c
// sys_mincore, do_mincore). Writing pages back and reporting residency come with the page
// layer.
#include <cstring>
#include <vector>

#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

// Linux: sys_msync. The caller holds mmap_lock (shared is enough).
Result<void> AddressSpace::msync(uint64_t start, uint64_t len, uint64_t flags_in) const {
  constexpr uint32_t kAsync = lx::ms_async, kInvalidate = lx::ms_invalidate, kSync = lx::ms_sync;
  const uint32_t flags = static_cast<uint32_t>(flags_in);
  if (flags & ~(kAsync | kInvalidate | kSync)) return fail(Errno::inval);
  if (!page_aligned(start)) return fail(Errno::inval);
  if ((flags & kAsync) && (flags & kSync)) return fail(Errno::inval);
  len = page_align(len);
  uint64_t end = start + len;
  if (end < start) return fail(Errno::nomem);
  if (end == start) return {};
  Errno unmapped = Errno::none;
  const Vma *v = vmas.tree.find(start);
  for (;;) {
    if (!v) return fail(Errno::nomem);
    if (start < v->start) {
      if (flags == kAsync) return fail(Errno::nomem);
      start = v->start;
      if (start >= end) return fail(Errno::nomem);
      unmapped = Errno::nomem;
    }
    if ((flags & kInvalidate) && (v->flags & vm::locked)) return fail(Errno::busy);
    start = v->end;
    // MS_SYNC of a shared file range writes it back here (page layer); it cannot fail yet.
    if (start >= end) break;
    v = vmas.tree.find(v->end);
  }
  if (unmapped != Errno::none) return fail(unmapped);
  return {};
}

Result<void> AddressSpace::mincore_check(uint64_t start, uint64_t len, uint64_t vec, bool guest_vec,
                                         uint64_t *pages) const {
  if (!page_aligned(start)) return fail(Errno::inval);
  // access_ok(start, len)
  const uint64_t limit = task_size;
  if (len > limit || start > limit - len) return fail(Errno::nomem);
  *pages = (len >> page_shift) + ((len & (page_size - 1)) != 0);
  if (guest_vec && (*pages > limit || vec > limit - *pages)) return fail(Errno::fault);
  return {};
}

Result<uint64_t> AddressSpace::mincore_step(uint64_t start, uint64_t pages) const {
  // Linux's do_mincore takes at most a page of vector at a time; the VMA layer takes a VMA
  // at a time (the same faults and errors, in the same order, in steps that do not grow
  // with the length).
  const Vma *v = vmas.tree.find(start);
  if (!v || v->start > start) return fail(Errno::nomem);
  const uint64_t in_vma = (v->end - start) >> page_shift;
  return pages < in_vma ? pages : in_vma;
}

void AddressSpace::mincore_fill(uint64_t start, uint64_t n, uint8_t *out, bool privileged) const {
  std::memset(out, 0, n);
  const Vma *v = vmas.tree.find(start);
  // can_do_mincore: anonymous memory shows its pages; a file's page cache only to those who
  // could open the file for writing (an ordinary user: the "other" write bit), and a special
  // mapping ([vvar], [vdso]) none: every page then reads as resident.
  if (v && !v->is_anonymous()) {
    const OpenFile *f = v->file ? static_cast<const OpenFile *>(v->file.get()) : nullptr;
    if (!f || (!privileged && !f->inode()->others_may_write())) {
      std::memset(out, 1, n);
      return;
    }
  }
  const uint64_t first = start >> page_shift;
  // Pages mapped here (the page-table walk skips empty tables).
  const OpenFile *file =
      v && v->file && v->vm_ops ? static_cast<const OpenFile *>(v->file.get()) : nullptr;
  PageCache *cache = file ? file->inode()->pages() : nullptr;
  pt.each_read(first, first + n - 1, [&](uint64_t vpn, uint64_t e) {
    if (!(e & pte::present)) return;
    // An entry of a page its file's cache gave up (truncated) is as good as gone.
    if (cache && !(e & pte::anon) && pte::frame(e) != FramePool::kZero &&
        cache->cached(v->pgoff + vpn - (v->start >> page_shift)) != pte::frame(e))
      return;
    out[vpn - first] = 1;
  });
  const OpenFile *of =
      v && v->file && v->vm_ops ? static_cast<const OpenFile *>(v->file.get()) : nullptr;
  if (!of) return;
  // A file's pages in its page cache: vmspace's, and for a host file the host kernel's (only
  // pages inside the file can be cached).
  PageCache *pc = of->inode()->pages();
  const uint64_t pgoff0 = v->pgoff + ((start - v->start) >> page_shift);
  const uint64_t size_pages = (of->inode()->size() + page_size - 1) >> page_shift;
  const uint64_t in_file = pgoff0 >= size_pages ? 0 : std::min(n, size_pages - pgoff0);
  std::vector<uint8_t> host;
  if (of->read_fd() >= 0 && in_file)
    host = host_residency(of->read_fd(), pgoff0, in_file, page_size);
  for (uint64_t i = 0; i < in_file; i++) {
    if (out[i]) continue;
    if (pc && pc->resident(pgoff0 + i))
      out[i] = 1;
    else if (i < host.size() && host[i])
      out[i] = 1;
  }
}

}  // namespace vmspace
