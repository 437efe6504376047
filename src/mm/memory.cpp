// Guest memory: page-table entries, demand paging and copy-on-write (Linux: mm/memory.c
// handle_mm_fault below the VMA checks: do_anonymous_page, do_read_fault, do_cow_fault,
// do_shared_fault, do_wp_page; zap_page_range; move_page_tables; copy_page_range).
//
// fault() (fault.cpp) decides whether an access is allowed and which signal it gets; the
// functions here make the page present: the zero page for a load from untouched private
// anonymous memory, a new zeroed page for a store, the file's page-cache page for file and
// shared memory, and a private copy on the first store to a page a private mapping shares
// (with the page cache, the zero page, or a fork relative).
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
// Entry bits beyond page/page_table.hpp's: which RSS counter a page is in.
constexpr uint64_t kShmem = pte::shmem;
constexpr uint64_t kNoRss = pte::norss;

PageCache *cache_of(const Vma *v) {
  if (!v->file || !v->vm_ops) return nullptr;
  return static_cast<const OpenFile *>(v->file.get())->inode()->pages();
}
}  // namespace

// ---- entries and their accounting ----

namespace {
uint64_t &rss_counter(AddressSpace &mm, uint64_t e) {
  return (e & pte::anon) ? mm.rss_anon : (e & kShmem) ? mm.rss_shmem : mm.rss_file;
}
// Linux: the folios of a MAP_DROPPABLE mapping are not swap-backed from birth (as MADV_FREE
// leaves a folio): LazyFree while clean, discarded by reclaim even when dirty.
uint64_t droppable(const Vma *v) { return (v->flags & vm::droppable) ? pte::lazyfree : 0; }
bool counted(uint64_t e) {
  return (e & pte::present) && pte::frame(e) != FramePool::kZero && !(e & kNoRss);
}
}  // namespace

static void drop_entry(AddressSpace &mm, uint64_t e) {
  if (!(e & pte::present)) return;
  // An Accessor may have this page cached: it must stop using it before it goes.
  if (!mm.accessors_invalidated && mm.accessor_count.load(std::memory_order_acquire) > 0) {
    mm.invalidate_accessors();
    mm.accessors_invalidated = true;
  }
  // Linux: update_hiwater_rss before pages are zapped (munmap, MADV_DONTNEED, mremap's
  // shrink): VmHWM is the larger of that mark and the current RSS.
  if (mm.rss() > mm.hiwater_rss) mm.hiwater_rss = mm.rss();
  if (counted(e)) rss_counter(mm, e)--;
  const uint32_t f = pte::frame(e);
  mm.ctx.frames.unmap_put(f);
}

// Sets entry e at vpn (its frame reference already taken by the caller).
static void install(AddressSpace &mm, uint64_t vpn, uint64_t e) {
  mm.pt.set(vpn, e);
  if (pte::frame(e) != FramePool::kZero) mm.ctx.frames.map(pte::frame(e));
  if (counted(e)) rss_counter(mm, e)++;
}

// Linux 6.18: do_sync_mmap_readahead, the pages a read fault on an uncached file page reads
// (the file's end cuts them). ra_pages is the backing device's read_ahead_kb (128 KiB unless
// the machine sets it otherwise: SystemConfig::read_ahead_kb).
//  - VM_HUGEPAGE: two PMD-sized blocks from the aligned index below (one with
//    MADV_RANDOM), whatever ra_pages is;
//  - MADV_RANDOM (unless VM_EXEC), or ra_pages 0: the page alone;
//  - MADV_SEQUENTIAL: ra_pages from the page on (page_cache_sync_ra);
//  - VM_EXEC: ra_pages from the page on, cut at the VMA's end (instruction fetch is random;
//    x86's exec_folio_order is 0);
//  - otherwise read-around: ra_pages centred on the page.
// The read marks one page PG_readahead (read_pages). Not modelled: mmap_miss (after 100 more
// misses than hits on one open file the kernel stops reading around) and the asynchronous
// readahead a later fault on the marked page starts.
AddressSpace::ReadAround AddressSpace::read_around(const Vma *v, uint64_t pgoff) const {
  const uint64_t ra = ctx.cfg.read_ahead_pages;
  const uint64_t f = v->flags;
  if (f & vm::hugepage && ctx.cfg.transparent_hugepage) {
    constexpr uint64_t pmd = 512;  // pages per PMD-sized folio (entries of a table)
    return {pgoff & ~(pmd - 1), (f & vm::rand_read) ? pmd : 2 * pmd};
  }
  if ((f & (vm::rand_read | vm::exec)) == vm::rand_read || ra == 0) return {pgoff, 1};
  // page_cache_sync_ra: at the file's start a full window whose second half is marked; else
  // (no read history) a standalone read, unmarked.
  if (f & vm::seq_read) return {pgoff, ra, pgoff == 0 ? ra / 2 : 0};
  if (f & vm::exec) {
    const uint64_t vma_end = v->pgoff + ((v->end - v->start) >> page_shift);
    const uint64_t from = std::max(pgoff, v->pgoff);
    return {from, std::min(from + ra, vma_end) - from};
  }
  return {pgoff - std::min(pgoff, ra / 2), ra, ra / 4};
}

// Linux: do_read_fault's do_fault_around -> filemap_map_pages. A load from a file page that
// is not mapped first maps the pages around it that the page cache holds: a window of
// fault_around_bytes (64 KiB) from the aligned address below, cut at the VMA and at the page
// table's end, and at the file's end. Pages are mapped as the fault itself would map them
// (young: x86 does not make prefaulted entries old). When the faulting page is not cached,
// the file is read around it (read_around below) and the retried fault maps the window as
// above.
// What "cached" means for a host file: in vmspace's cache, or in the host kernel's (a file
// written or read before vmspace looked at it is there).
void AddressSpace::fault_around(Vma *v, uint64_t addr, PageCache *pc, uint64_t kind) {
  constexpr uint64_t kAroundBytes = 64 * 1024;
  const OpenFile *of = static_cast<const OpenFile *>(v->file.get());
  const Ref<Inode> &in = of->inode();
  const uint64_t size = in->size();
  const uint64_t file_pages = (size + page_size - 1) >> page_shift;
  const uint64_t pgoff = v->pgoff + ((addr - v->start) >> page_shift);
  // A load past EOF still maps the window's cached pages before filemap_fault answers
  // SIGBUS (do_read_fault faults around first); nothing is read for it.
  const bool past_eof = pgoff >= file_pages;
  const bool table = pt.has_table(addr >> page_shift);
  const bool shmem = in->kind() == InodeKind::shmem;
  const int fd = of->read_fd();
  // The window: from the aligned address below, cut at the VMA and the page table's end.
  const uint64_t window = kAroundBytes > page_size ? kAroundBytes : page_size;
  const uint64_t table_end = (addr | ((page_size << 9) - 1)) + 1;  // 512 entries per table
  const uint64_t from = std::max(addr & ~(window - 1), v->start);
  uint64_t to = std::min({from + window, table_end, v->end});
  const uint64_t first = v->pgoff + ((from - v->start) >> page_shift);
  if (first >= file_pages) return;
  to = std::min(to, from + ((file_pages - first) << page_shift));  // and at the file's end
  // Pages of the window vmspace's cache lacks may be in the host's (one query for them).
  bool gaps = false;
  for (uint64_t i = 0; !gaps && i < ((to - from) >> page_shift); i++)
    gaps = pc->cached(first + i) == FramePool::kZero;
  if (gaps && !shmem && fd >= 0) {
    std::vector<uint8_t> host = host_residency(fd, first, (to - from) >> page_shift, page_size);
    for (uint64_t i = 0; i < host.size(); i++)
      if (host[i] && pc->cached(first + i) == FramePool::kZero) (void)pc->page(first + i, fd, size);
  }
  // Past EOF where the address has no page table yet, the kernel maps the window's cached
  // pages only when they are at least two folios (observed on 6.18.44 with 4 KiB and 8 KiB
  // folios: docs/probes/eof_around.c; vmspace's folios are pages).
  if (past_eof && !table) {
    uint64_t n = 0;
    for (uint64_t a = from; n < 2 && a < to; a += page_size) {
      const uint64_t p = v->pgoff + ((a - v->start) >> page_shift);
      n += pc->cached(p) != FramePool::kZero && !pc->readahead_marked(p);
    }
    if (n < 2) return;
  }
  // do_fault_around maps what is cached. When the faulting page is not, filemap_fault reads
  // it (around it, unless MADV_RANDOM) with mmap_lock dropped and the fault is retried: the
  // retry's fault-around maps the window again, now with what was read.
  if (kAroundBytes > page_size) map_cached(v, pc, from, to, kind);
  if (!past_eof && pc->cached(pgoff) == FramePool::kZero && !shmem) {
    read_pages(v, pc, pgoff);
    if (kAroundBytes > page_size) map_cached(v, pc, from, to, kind);
  }
}

void AddressSpace::fault_around_past_eof(Vma *v, uint64_t addr) {
  if (no_fault_around || v->special != Special::none || (v->flags & vm::hugetlb)) return;
  PageCache *pc = cache_of(v);
  if (!pc || pt.get(addr >> page_shift) != 0) return;
  const bool shmem =
      static_cast<const OpenFile *>(v->file.get())->inode()->kind() == InodeKind::shmem;
  try {
    fault_around(v, addr & ~(page_size - 1), pc, shmem ? kShmem : 0);
  } catch (const std::bad_alloc &) {
    // No host memory for a page table: the window stays unmapped, the SIGBUS stands.
  }
}

void AddressSpace::read_pages(const Vma *v, PageCache *pc, uint64_t pgoff) {
  const OpenFile *of = static_cast<const OpenFile *>(v->file.get());
  const ReadAround ra = read_around(v, pgoff);
  pc->readahead(ra.from, ra.pages, ra.async, of->read_fd(), of->inode()->size());
}

void AddressSpace::map_cached(Vma *v, PageCache *pc, uint64_t from, uint64_t to, uint64_t kind) {
  FramePool &fp = ctx.frames;
  const bool shared = v->flags & vm::shared;
  const OpenFile *of = static_cast<const OpenFile *>(v->file.get());
  // Stores through a shared mapping (now or after mprotect) are written back through it.
  if (shared && of->writable() && (v->flags & vm::maywrite)) pc->set_writer(of->host_fd());
  for (uint64_t a = from; a < to; a += page_size) {
    const uint64_t p = v->pgoff + ((a - v->start) >> page_shift);
    const uint64_t vpn = a >> page_shift;
    if (pt.get(vpn) != 0) continue;  // present, or a guard marker
    const uint32_t f = pc->cached(p);
    if (f == FramePool::kZero || pc->readahead_marked(p)) continue;
    fp.get(f);
    install(*this, vpn, pte::make(f, pte::present | pte::young | kind | (shared ? 0 : pte::cow)));
  }
}

uint8_t *AddressSpace::page_for(Vma *v, uint64_t addr, bool write) {
  FramePool &fp = ctx.frames;
  const uint64_t vpn = addr >> page_shift;
  const uint64_t page = addr & ~(page_size - 1);
  const uint64_t pgoff = v->pgoff + ((page - v->start) >> page_shift);
  PageCache *pc = cache_of(v);
  const bool shared = v->flags & vm::shared;
  uint64_t kind = 0;
  if (v->flags & vm::hugetlb || v->special != Special::none)
    kind = kNoRss;
  else if (pc && static_cast<const OpenFile *>(v->file.get())->inode()->kind() == InodeKind::shmem)
    kind = kShmem;
  try {
    // A load from a present page that is young already changes nothing (and leaves a leaf
    // table shared since fork shared).
    if (const uint64_t e0 = pt.get(vpn);
        !write && (e0 & (pte::present | pte::young)) == (pte::present | pte::young) &&
        ((e0 & pte::anon) || !pc || pte::frame(e0) == FramePool::kZero ||
         pc->cached(pgoff) == pte::frame(e0)))
      return fp.data(pte::frame(e0));
    uint64_t *ep = pt.find(vpn);
    uint64_t e = ep ? *ep : 0;
    // Transparent huge pages: a first touch of an empty window, a store to a shared one.
    if (!ep && !pc && v->special == Special::none && thp_fault_allowed(v, addr) &&
        huge_fault(v, addr, write)) {
      ep = pt.find(vpn);
      e = *ep;
    } else if (write && (e & pte::huge) && (e & pte::cow)) {
      (void)huge_write(addr);
      e = *ep;
    }
    if (e & pte::present) {
      const uint32_t f = pte::frame(e);
      // A page-cache page the file no longer holds (truncated away): fault it again.
      if (!(e & pte::anon) && pc && f != FramePool::kZero && pc->cached(pgoff) != f) {
        drop_entry(*this, e);
        pt.clear(vpn);
        e = 0;
      } else if (!write) {
        *ep |= pte::young;
        return fp.data(f);
      } else if (!(e & pte::cow)) {
        *ep |= pte::dirty | pte::young;
        if (!(e & pte::anon)) fp.set_dirty(f);
        return fp.data(f);
      } else if ((e & pte::anon) && f != FramePool::kZero && fp.refs(f) == 1) {
        // The last user of a copy-on-write page keeps it (Linux: wp_page_reuse).
        *ep = (e & ~pte::cow) | pte::dirty | pte::young;
        return fp.data(f);
      } else {
        const uint32_t c = fp.alloc();
        if (c == FramePool::kZero) return nullptr;
        if (f != FramePool::kZero) std::memcpy(fp.data(c), fp.data(f), page_size);
        drop_entry(*this, e);
        // A copy is anonymous memory in RssAnon, also of a special mapping ([vdso] made
        // writable); only hugetlb pages stay out of the RSS counters.
        const uint64_t rss = (v->flags & vm::hugetlb) ? kNoRss : 0;
        install(
            *this, vpn,
            pte::make(c, pte::present | pte::anon | pte::dirty | pte::young | rss | droppable(v)));
        return fp.data(c);
      }
    }
    // Not present.
    if (!pc) {
      if (v->special == Special::vdso) {
        // The vDSO's pages are the kernel's one image, in smaps' Rss but in no RSS counter
        // (observed on 6.18); a store (after mprotect made it writable) copies the page into
        // RssAnon, as for a private file page.
        const uint32_t f = ctx.vdso_frame((page - v->start) >> page_shift);
        if (f == FramePool::kZero) return nullptr;
        if (write) {
          const uint32_t c = fp.alloc();
          if (c == FramePool::kZero) return nullptr;
          std::memcpy(fp.data(c), fp.data(f), page_size);
          install(*this, vpn, pte::make(c, pte::present | pte::anon | pte::dirty | pte::young));
          return fp.data(c);
        }
        fp.get(f);
        install(*this, vpn, pte::make(f, pte::present | pte::cow | pte::young));
        return fp.data(f);
      }
      // Private anonymous memory (and the other special mappings, which read as zeros here
      // and are in no RSS counter).
      if (v->special != Special::none || (!write && ctx.cfg.zero_page)) {
        install(*this, vpn, pte::make(FramePool::kZero, pte::present | pte::cow | pte::young));
        return fp.data(FramePool::kZero);
      }
      // A store, or a load where the zero page is forbidden (Linux: do_anonymous_page
      // prepares the anon_vma, and maps the new page dirty when the VMA is writable).
      if (!write) anon_vma_prepare(v);
      const uint32_t c = fp.alloc();
      if (c == FramePool::kZero) return nullptr;
      const uint64_t dirty = (write || (v->flags & vm::write)) ? pte::dirty : 0;
      install(*this, vpn,
              pte::make(c, pte::present | pte::anon | dirty | pte::young | kind | droppable(v)));
      return fp.data(c);
    }
    const OpenFile *of = static_cast<const OpenFile *>(v->file.get());
    const Ref<Inode> &in = of->inode();
    if (!write && !(kind & kNoRss) && !no_fault_around) {
      fault_around(v, page, pc, kind);
      if (const uint64_t now = pt.get(vpn); now & pte::present) return fp.data(pte::frame(now));
    }
    // A store (or a load without fault-around) reaches filemap_fault, which reads around a
    // page neither cache holds, as a load does.
    if (pc->cached(pgoff) == FramePool::kZero && !(kind & (kNoRss | kShmem)) &&
        pgoff < ((in->size() + page_size - 1) >> page_shift) &&
        (of->read_fd() < 0 || !host_residency(of->read_fd(), pgoff, 1, page_size)[0]))
      read_pages(v, pc, pgoff);
    // filemap_fault finds a marked page: do_async_mmap_readahead clears the mark (the
    // asynchronous readahead it starts is not modelled).
    (void)pc->clear_readahead_mark(pgoff);
    const uint32_t f = pc->page(pgoff, of->read_fd(), in->size());
    if (f == FramePool::kZero) return nullptr;
    if (shared) {
      fp.get(f);
      uint64_t bits = pte::present | pte::young | kind;
      // Stores through this mapping (now or after a later mprotect) are written back through
      // its descriptor.
      if (of->writable() && (v->flags & vm::maywrite)) pc->set_writer(of->host_fd());
      if (write) {
        bits |= pte::dirty;
        fp.set_dirty(f);
      }
      install(*this, vpn, pte::make(f, bits));
      return fp.data(f);
    }
    if (!write) {
      fp.get(f);
      install(*this, vpn, pte::make(f, pte::present | pte::cow | pte::young | kind));
      return fp.data(f);
    }
    // The first store to a private file page: a private copy (Linux: do_cow_fault).
    const uint32_t c = fp.alloc();
    if (c == FramePool::kZero) return nullptr;
    std::memcpy(fp.data(c), fp.data(f), page_size);
    install(*this, vpn,
            pte::make(c, pte::present | pte::anon | pte::dirty | pte::young | (kind & kNoRss)));
    return fp.data(c);
  } catch (const std::bad_alloc &) {
    return nullptr;  // no host memory for a page table: as out of memory
  }
}

// ---- transparent huge pages ----

namespace {
// The frames of one huge page (Linux allocates one folio; vmspace takes 512 frames), all or
// none: false when the pool cannot give them.
bool alloc_huge(FramePool &fp, uint64_t n, std::vector<uint32_t> &got) {
  got.clear();
  got.reserve(n);
  for (uint64_t i = 0; i < n; i++) {
    const uint32_t f = fp.alloc();
    if (f == FramePool::kZero) {
      for (uint32_t g : got) fp.put(g);
      got.clear();
      return false;
    }
    got.push_back(f);
  }
  return true;
}
}  // namespace

bool AddressSpace::thp_fault_allowed(const Vma *v, uint64_t addr) const {
  if (!ctx.cfg.transparent_hugepage || page_shift != 12 || !v->is_anonymous()) return false;
  if ((v->flags & (vm::hugetlb | vm::nohugepage | vm::special)) || !(v->flags & vm::hugepage))
    return false;
  const uint64_t h = addr & ~(kHugeBytes - 1);
  if (h < v->start || h + kHugeBytes > v->end || h + kHugeBytes < h) return false;
  return !pt.has_table(h >> page_shift);  // pmd_none
}

bool AddressSpace::huge_fault(Vma *v, uint64_t addr, bool write) {
  const uint64_t first = (addr & ~(kHugeBytes - 1)) >> page_shift, n = kHugeBytes >> page_shift;
  // The anon_vma comes first, for a load too (unlike a 4 KiB page's zero-page load).
  anon_vma_prepare(v);
  pt.prepare(first);  // the deposited page table (may throw before anything changed)
  if (!write && ctx.cfg.zero_page) {
    for (uint64_t i = 0; i < n; i++)
      install(*this, first + i,
              pte::make(FramePool::kZero, pte::present | pte::cow | pte::young | pte::huge));
    return true;
  }
  std::vector<uint32_t> got;
  // No huge page: a 4 KiB page as the fallback (thp_fault_fallback).
  if (!alloc_huge(ctx.frames, n, got)) return false;
  for (uint64_t i = 0; i < n; i++)
    install(*this, first + i,
            pte::make(got[i], pte::present | pte::anon | pte::dirty | pte::young | pte::huge));
  return true;
}

bool AddressSpace::huge_write(uint64_t addr) {
  const uint64_t first = (addr & ~(kHugeBytes - 1)) >> page_shift, n = kHugeBytes >> page_shift;
  FramePool &fp = ctx.frames;
  const uint64_t e0 = pt.get(first);
  if (pte::frame(e0) == FramePool::kZero) {
    // The huge zero page: a huge page of its own (do_huge_zero_wp_pmd), else split.
    std::vector<uint32_t> got;
    if (!alloc_huge(fp, n, got)) {
      split_huge(addr);
      return false;
    }
    for (uint64_t i = 0; i < n; i++) {
      drop_entry(*this, pt.get(first + i));
      install(*this, first + i,
              pte::make(got[i], pte::present | pte::anon | pte::dirty | pte::young | pte::huge));
    }
    return true;
  }
  // Shared after fork: reused when no one else maps any of its pages, else split (the store
  // then copies one page, as Linux no longer copies a whole huge page on COW). The counts
  // decide only once the table is this address space's own.
  pt.own(first);
  for (uint64_t i = 0; i < n; i++)
    if (fp.refs(pte::frame(pt.get(first + i))) != 1) {
      split_huge(addr);
      return false;
    }
  pt.each(first, first + n - 1,
          [](uint64_t, uint64_t &e) { e = (e & ~pte::cow) | pte::dirty | pte::young; });
  return true;
}

void AddressSpace::split_huge(uint64_t addr) {
  const uint64_t first = (addr & ~(kHugeBytes - 1)) >> page_shift;
  if (!(pt.get(first) & pte::huge)) return;
  pt.each(first, first + (kHugeBytes >> page_shift) - 1,
          [](uint64_t, uint64_t &e) { e &= ~pte::huge; });
}

// Linux: madvise_collapse -> hpage_collapse_scan_pmd / collapse_huge_page for one window of
// anonymous memory (max_ptes_none and max_ptes_shared do not apply to MADV_COLLAPSE).
Errno AddressSpace::collapse_window(Vma *v, uint64_t h) {
  const uint64_t first = h >> page_shift, n = kHugeBytes >> page_shift;
  if (h < v->start || h + kHugeBytes > v->end) return Errno::inval;  // SCAN_VMA_CHECK
  if (!pt.has_table(first)) return Errno::inval;                     // SCAN_PMD_NULL
  // A PMD mapping already, the huge zero page's too (SCAN_PMD_MAPPED: nothing to do).
  if (pt.get(first) & pte::huge) return Errno::none;
  bool marker = false;
  pt.each_read(first, first + n - 1, [&](uint64_t, uint64_t e) {
    if (e & pte::guard) marker = true;
  });
  if (marker) return Errno::inval;  // SCAN_PTE_NON_PRESENT
  FramePool &fp = ctx.frames;
  std::vector<uint32_t> got;
  if (!alloc_huge(fp, n, got)) return Errno::nomem;  // SCAN_ALLOC_HUGE_PAGE_FAIL
  for (uint64_t i = 0; i < n; i++) {
    const uint64_t e = pt.get(first + i);
    if ((e & pte::present) && pte::frame(e) != FramePool::kZero)
      std::memcpy(fp.data(got[i]), fp.data(pte::frame(e)), page_size);
    drop_entry(*this, e);
    const uint64_t w = (v->flags & vm::write) ? 0 : pte::cow;
    install(*this, first + i,
            pte::make(got[i], pte::present | pte::anon | pte::dirty | pte::young | pte::huge | w));
  }
  return Errno::none;
}

// ---- loads and stores ----

namespace {
// Guest memory is exhausted: what Linux's OOM killer does to the faulting process.
Fault out_of_memory(uint64_t addr) {
  constexpr int kOomFaultCode = AddressSpace::kOomFaultCode;
  Fault f;
  f.signal = lx::sigkill;
  f.code = kOomFaultCode;
  f.addr = addr;
  return f;
}
}  // namespace

// Calls op(host pointer, offset in the access, bytes) for each page of the access in order,
// after fault() allowed it; stops at the first fault.
template <class Op>
static Fault walk_bytes(AddressSpace &mm, uint64_t addr, uint64_t len, bool write, bool exec,
                        const TaskLimits &lim, Op op) {
  uint64_t done = 0;
  while (done < len) {
    const uint64_t a = addr + done;
    if (a < addr) break;  // ran past the top of the address space
    Fault f = mm.fault(a, write, exec, lim);
    if (f) {
      if (f.code != lx::si_kernel) f.addr = a;
      return f;
    }
    Vma *v = mm.vmas.tree.find(a);
    uint8_t *p = mm.page_for(v, a, write);
    if (!p) return out_of_memory(a);
    const uint64_t off = a & (mm.page_size - 1);
    const uint64_t n = std::min(mm.page_size - off, len - done);
    op(p + off, done, n);
    done += n;
  }
  return Fault{};
}

Fault AddressSpace::read_mem(uint64_t addr, uint8_t *out, uint64_t len, const TaskLimits &lim) {
  return walk_bytes(*this, addr, len, false, false, lim,
                    [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(out + at, p, n); });
}

Fault AddressSpace::write_mem(uint64_t addr, const uint8_t *in, uint64_t len,
                              const TaskLimits &lim) {
  return walk_bytes(*this, addr, len, true, false, lim,
                    [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(p, in + at, n); });
}

Fault AddressSpace::fill_mem(uint64_t addr, uint8_t byte, uint64_t len, const TaskLimits &lim) {
  return walk_bytes(*this, addr, len, true, false, lim,
                    [&](uint8_t *p, uint64_t, uint64_t n) { std::memset(p, byte, n); });
}

Fault AddressSpace::touch_mem(uint64_t addr, uint64_t len, bool write, bool exec,
                              const TaskLimits &lim) {
  if (len == 0) return Fault{};
  const uint64_t last = addr + (len - 1) < addr ? ~0ull : addr + (len - 1);
  // One byte at addr, then one at every page start up to last (a store puts it back).
  for (uint64_t a = addr;;) {
    // A store of the loaded byte is a load first (a read fault: fault-around), then a store.
    Fault f = walk_bytes(*this, a, 1, false, exec, lim, [](uint8_t *, uint64_t, uint64_t) {});
    if (!f && write)
      f = walk_bytes(*this, a, 1, true, false, lim, [](uint8_t *, uint64_t, uint64_t) {});
    if (f) return f;
    const uint64_t next = (a | (page_size - 1)) + 1;
    if (next == 0 || next > last) break;
    a = next;
  }
  return Fault{};
}

// ---- page-table changes that follow the layout ----

void AddressSpace::zap(uint64_t start, uint64_t end, bool keep_guards, bool reclaim_tables) {
  if (start >= end || pt.entries() == 0) return;
  // A huge window the range cuts is split (Linux: __split_huge_pmd in zap_pmd_range).
  if (start & (kHugeBytes - 1)) split_huge(start);
  if (end & (kHugeBytes - 1)) split_huge(end);
  const uint64_t first = start >> page_shift, last = (end - 1) >> page_shift;
  // The tables wholly inside the range that go when they empty: huge windows' (zap_huge_pmd
  // frees the deposited table) and, with reclaim_tables, any (try_to_free_pte).
  std::vector<uint64_t> tables;
  const uint64_t span = kHugeBytes >> page_shift;
  if (page_shift == 12) {
    pt.each_table(first, last, [&](uint64_t t) {
      if (t >= first && t + span - 1 <= last && (reclaim_tables || (pt.get(t) & pte::huge)))
        tables.push_back(t);
    });
  }
  // A leaf table shared since fork that the range covers is let go of whole: its frames stay
  // with the tables that still hold it, this address space only counts its pages out.
  if (!keep_guards) {
    std::vector<uint64_t> shared;
    pt.each_table(first, last, [&](uint64_t t) {
      if (t >= first && t + PageTable::kLeafSpan - 1 <= last && pt.leaf_shared(t))
        shared.push_back(t);
    });
    for (uint64_t t : shared) {
      bool present = false;
      if (rss() > hiwater_rss) hiwater_rss = rss();  // as drop_entry does
      pt.each_read(t, t + PageTable::kLeafSpan - 1, [&](uint64_t, uint64_t e) {
        if (!(e & pte::present)) return;
        present = true;
        if (counted(e)) rss_counter(*this, e)--;
      });
      if (present && !accessors_invalidated && accessor_count.load(std::memory_order_acquire) > 0) {
        invalidate_accessors();
        accessors_invalidated = true;
      }
      pt.leave_shared(t, std::find(tables.begin(), tables.end(), t) != tables.end());
    }
  }
  pt.each(first, last, [&](uint64_t, uint64_t &e) {
    if (keep_guards && (e & pte::guard)) return;
    drop_entry(*this, e);
    e = 0;
  });
  for (uint64_t t : tables) (void)pt.free_leaf(t);
}

void AddressSpace::lazy_free(uint64_t start, uint64_t end) {
  if (start >= end || pt.entries() == 0) return;
  if (start & (kHugeBytes - 1)) split_huge(start);
  if (end & (kHugeBytes - 1)) split_huge(end);
  constexpr size_t kBatch = 31;  // PAGEVEC_SIZE
  pt.each(start >> page_shift, (end - 1) >> page_shift, [&](uint64_t vpn, uint64_t &e) {
    // The zero page and page-cache pages are left alone; shared copies are marked too.
    if (!(e & pte::present) || !(e & pte::anon) || pte::frame(e) == FramePool::kZero) return;
    e &= ~(pte::dirty | pte::young);
    if (e & (pte::lazyfree | pte::lazy_pending)) return;  // no longer swap-backed already
    e |= pte::lazy_pending;
    lazy_batch.push_back(vpn);
  });
  // A full batch is drained at once.
  const size_t full = lazy_batch.size() / kBatch * kBatch;
  for (size_t i = 0; i < full; i++)
    if (uint64_t *ep = pt.find(lazy_batch[i]); ep && (*ep & pte::lazy_pending))
      *ep = (*ep & ~pte::lazy_pending) | pte::lazyfree;
  lazy_batch.erase(lazy_batch.begin(), lazy_batch.begin() + static_cast<std::ptrdiff_t>(full));
}

void AddressSpace::lru_drain() {
  for (uint64_t vpn : lazy_batch)
    if (uint64_t *ep = pt.find(vpn); ep && (*ep & pte::lazy_pending))
      *ep = (*ep & ~pte::lazy_pending) | pte::lazyfree;
  lazy_batch.clear();
}

// Linux: madvise_pageout without swap: swap-backed anonymous pages cannot go anywhere and
// stay; lazy-free ones mapped only here are discarded when clean (shrink_folio_list), or
// whatever their state in a MAP_DROPPABLE mapping (try_to_unmap_one); file and shmem pages
// mapped only here are unmapped (reclaim), and a clean page of a regular file also leaves
// the page cache (a dirty one, and shmem, stay there).
void AddressSpace::pageout(Vma *v, uint64_t start, uint64_t end) {
  if (start >= end || pt.entries() == 0) return;
  PageCache *pc = cache_of(v);
  const bool shmem =
      pc && static_cast<const OpenFile *>(v->file.get())->inode()->kind() == InodeKind::shmem;
  FramePool &fp = ctx.frames;
  pt.each(start >> page_shift, (end - 1) >> page_shift, [&](uint64_t vpn, uint64_t &e) {
    if (!(e & pte::present) || (e & pte::norss)) return;
    const uint32_t f = pte::frame(e);
    if (e & pte::anon) {
      if (!(e & pte::lazyfree) || f == FramePool::kZero || fp.mapcount(f) != 1) return;
      if (!(v->flags & vm::droppable) && ((e & pte::dirty) || fp.dirty(f))) return;
      drop_entry(*this, e);
      e = 0;
      return;
    }
    // Kernel pages ([vdso]) are not on an LRU list: nothing reclaims them.
    if (f == FramePool::kZero || fp.mapcount(f) != 1 || v->special != Special::none) return;
    const bool clean = !(e & pte::dirty) && !fp.dirty(f);
    drop_entry(*this, e);
    e = 0;
    if (pc && !shmem && clean) {
      const uint64_t pgoff = v->pgoff + (((vpn << page_shift) - v->start) >> page_shift);
      if (pc->cached(pgoff) == f && fp.refs(f) == 1) pc->drop(pgoff, pgoff);
    }
  });
}

// Linux: truncate_pagecache and hole punching unmap the pages they remove from every mapping
// (unmap_mapping_range). vmspace's page caches do not know their mappings: each address space
// drops its entries of pages its files' caches gave up when it next looks at its pages.
// Truncation also takes private copies of pages wholly past the new end (even_cows); a hole
// punched leaves them.
void AddressSpace::drop_stale() {
  const uint64_t now = ctx.frames.evictions();
  if (now == seen_evictions_ || pt.entries() == 0) {
    seen_evictions_ = now;
    return;
  }
  seen_evictions_ = now;
  for (Vma *v = vmas.tree.first(); v; v = VmaTree::next(v)) {
    PageCache *pc = cache_of(v);
    if (!pc) continue;
    const Inode &in = *static_cast<const OpenFile *>(v->file.get())->inode();
    const uint64_t file_pages = (in.size() + page_size - 1) >> page_shift;
    const bool hugetlb = v->flags & vm::hugetlb;
    // Read first (a leaf shared since fork stays shared unless it holds a stale entry).
    std::vector<uint64_t> stale;
    pt.each_read(v->start >> page_shift, (v->end - 1) >> page_shift, [&](uint64_t vpn, uint64_t e) {
      if (!(e & pte::present) || pte::frame(e) == FramePool::kZero) return;
      const uint64_t pgoff = v->pgoff + (((vpn << page_shift) - v->start) >> page_shift);
      if (e & pte::anon) {
        if (hugetlb || pgoff < file_pages) return;
      } else if (pc->cached(pgoff) == pte::frame(e)) {
        return;
      }
      stale.push_back(vpn);
    });
    for (uint64_t vpn : stale) {
      drop_entry(*this, *pt.find(vpn));
      pt.clear(vpn);
    }
  }
}

void AddressSpace::install_guards(uint64_t start, uint64_t end) {
  zap(start, end, true);
  for (uint64_t a = start; a < end; a += page_size) pt.set(a >> page_shift, pte::guard);
}

void AddressSpace::remove_guards(uint64_t start, uint64_t end) {
  if (start >= end || pt.entries() == 0) return;
  pt.each(start >> page_shift, (end - 1) >> page_shift, [&](uint64_t, uint64_t &e) {
    if (e & pte::guard) e = 0;
  });
}

void AddressSpace::prepare_move(uint64_t from, uint64_t to, uint64_t len, PageMove &m) {
  m.entries.clear();
  m.from = from >> page_shift;
  m.to = to >> page_shift;
  if (!len || from == to || pt.entries() == 0) return;
  // Linux: move_page_tables moves a huge PMD whole only where both sides are aligned and the
  // move covers it; any other huge window the move touches is split.
  if (from & (kHugeBytes - 1)) split_huge(from);
  if ((from + len) & (kHugeBytes - 1)) split_huge(from + len);
  const uint64_t first = from >> page_shift, last = (from + len - 1) >> page_shift;
  const uint64_t span = kHugeBytes >> page_shift;
  const bool aligned = ((m.to - m.from) & (span - 1)) == 0;
  pt.each(first, last, [&](uint64_t vpn, uint64_t &e) {
    if ((e & pte::huge) && !aligned) e &= ~pte::huge;
    m.entries.emplace_back(vpn - first, e);
  });
  for (const auto &[off, e] : m.entries) pt.prepare(m.to + off);
}

void AddressSpace::commit_move(PageMove &m) {
  // Destinations first: their tables are prepared, and clearing the sources cannot free them
  // while they hold entries. References and counts move along with the entries.
  for (const auto &[off, e] : m.entries) pt.set(m.to + off, e);
  for (const auto &[off, e] : m.entries) pt.clear(m.from + off);
  m.entries.clear();
}

Result<void> AddressSpace::sync_range(uint64_t start, uint64_t end) {
  Result<void> first_error;
  for (Vma *v = vmas.tree.find(start); v && v->start < end; v = VmaTree::next(v)) {
    if (!(v->flags & vm::shared) || !v->file || !v->vm_ops) continue;
    const uint64_t s = std::max(start, v->start), e = std::min(end, v->end);
    const uint64_t p0 = v->pgoff + ((s - v->start) >> page_shift);
    const uint64_t p1 = v->pgoff + ((e - 1 - v->start) >> page_shift);
    Result<void> r = static_cast<const OpenFile *>(v->file.get())->inode()->sync_pages(p0, p1);
    if (!r && first_error) first_error = r;
  }
  return first_error;
}

}  // namespace vmspace
