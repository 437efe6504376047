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
constexpr uint64_t kShmem = 128;  // RssShmem (else RssFile, unless pte::anon)
constexpr uint64_t kNoRss = 256;  // hugetlb and special pages: in no RSS counter

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
bool counted(uint64_t e) {
  return (e & pte::present) && pte::frame(e) != FramePool::kZero && !(e & kNoRss);
}
}  // namespace

static void drop_entry(AddressSpace &mm, uint64_t e) {
  if (!(e & pte::present)) return;
  if (counted(e)) rss_counter(mm, e)--;
  const uint32_t f = pte::frame(e);
  if (f != FramePool::kZero) {
    mm.ctx.frames.unmap(f);
    mm.ctx.frames.put(f);
  }
}

// Sets entry e at vpn (its frame reference already taken by the caller).
static void install(AddressSpace &mm, uint64_t vpn, uint64_t e) {
  mm.pt.set(vpn, e);
  if (pte::frame(e) != FramePool::kZero) mm.ctx.frames.map(pte::frame(e));
  if (counted(e)) {
    rss_counter(mm, e)++;
    if (mm.rss() > mm.hiwater_rss) mm.hiwater_rss = mm.rss();
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
    uint64_t *ep = pt.find(vpn);
    uint64_t e = ep ? *ep : 0;
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
        install(*this, vpn,
                pte::make(c, pte::present | pte::anon | pte::dirty | pte::young | (kind & kNoRss)));
        return fp.data(c);
      }
    }
    // Not present.
    if (!pc) {
      // Private anonymous memory (and special mappings, which read as zeros here).
      if (!write || v->special != Special::none) {
        install(*this, vpn, pte::make(FramePool::kZero, pte::present | pte::cow | pte::young));
        return fp.data(FramePool::kZero);
      }
      const uint32_t c = fp.alloc();
      if (c == FramePool::kZero) return nullptr;
      install(*this, vpn, pte::make(c, pte::present | pte::anon | pte::dirty | pte::young | kind));
      return fp.data(c);
    }
    const OpenFile *of = static_cast<const OpenFile *>(v->file.get());
    const Ref<Inode> &in = of->inode();
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

// ---- loads and stores ----

namespace {
// Guest memory is exhausted: what Linux's OOM killer does to the faulting process.
Fault out_of_memory(uint64_t addr) {
  Fault f;
  f.signal = lx::sigkill;
  f.code = 0;
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
    Fault f = walk_bytes(*this, a, 1, write, exec, lim, [](uint8_t *, uint64_t, uint64_t) {});
    if (f) return f;
    const uint64_t next = (a | (page_size - 1)) + 1;
    if (next == 0 || next > last) break;
    a = next;
  }
  return Fault{};
}

// ---- page-table changes that follow the layout ----

void AddressSpace::zap(uint64_t start, uint64_t end, bool keep_guards) {
  if (start >= end || pt.entries() == 0) return;
  pt.each(start >> page_shift, (end - 1) >> page_shift, [&](uint64_t, uint64_t &e) {
    if (keep_guards && (e & pte::guard)) return;
    drop_entry(*this, e);
    e = 0;
  });
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
  const uint64_t first = from >> page_shift, last = (from + len - 1) >> page_shift;
  pt.each(first, last, [&](uint64_t vpn, uint64_t &e) { m.entries.emplace_back(vpn - first, e); });
  for (const auto &[off, e] : m.entries) pt.prepare(m.to + off);
}

void AddressSpace::commit_move(PageMove &m) {
  // Destinations first: their tables are prepared, and clearing the sources cannot free them
  // while they hold entries. References and counts move along with the entries.
  for (const auto &[off, e] : m.entries) pt.set(m.to + off, e);
  for (const auto &[off, e] : m.entries) pt.clear(m.from + off);
  m.entries.clear();
}

void AddressSpace::fork_pages(AddressSpace &child, const Vma &v) {
  if (!v.anon || (v.flags & vm::wipeonfork) || pt.entries() == 0) return;
  const bool shared = v.flags & vm::shared;
  pt.each(v.start >> page_shift, (v.end - 1) >> page_shift, [&](uint64_t vpn, uint64_t &e) {
    if (e & pte::guard) {
      child.pt.set(vpn, e);  // guard markers are inherited
      return;
    }
    if (!(e & pte::present)) return;
    if (!shared) e |= pte::cow;  // both sides copy on their next store
    ctx.frames.get(pte::frame(e));
    install(child, vpn, e);
  });
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
