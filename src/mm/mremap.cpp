// mremap (Linux 6.17+: mm/mremap.c do_mremap, check_mremap_params,
// check_prep_vma, mremap_at, mremap_to, remap_move, expand_vma, move_vma,
// copy_vma, unmap_source_vma, dontunmap_complete).
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

#include <algorithm>

namespace vmspace {

namespace {
constexpr uint64_t kMayMove = lx::mremap_maymove, kFixed = lx::mremap_fixed,
                   kDontUnmap = lx::mremap_dontunmap;

enum class RemapType { no_resize, shrink, expand };

// The state of one mremap (Linux: struct vma_remap_struct).
struct Remap {
  uint64_t addr, old_len, new_len, flags, new_addr;
  Vma *vma = nullptr;
  uint64_t delta = 0;
  RemapType type = RemapType::no_resize;
  // The unmap list of a moved source (the old range lies in one VMA, cut out of it), allocated
  // before anything changes so that running out of memory changes nothing.
  UnmapPlan source;
  // The pages that move, prepared before anything changes (MREMAP_FIXED: before the target is
  // unmapped), with the page tables held until they moved.
  AddressSpace::PageMove pages;
  bool pages_prepared = false;
  bool implies_new() const { return flags & (kFixed | kDontUnmap); }
};

// Holds the page tables of an address space (no empty table is freed) for its lifetime.
class TableHold {
 public:
  explicit TableHold(PageTable &pt) : pt_(pt) { pt_.hold(true); }
  ~TableHold() { pt_.hold(false); }
  TableHold(const TableHold &) = delete;
  TableHold &operator=(const TableHold &) = delete;

 private:
  PageTable &pt_;
};

uint64_t huge_size_of(const Vma &v) {
  const OpenFile *f = static_cast<const OpenFile *>(v.file.get());
  return f ? f->inode()->huge_page_size() : (2ull << 20);
}

// Linux: vma_multi_allowed. Files whose get_unmapped_area might not honour
// MAP_FIXED cannot take part in a multi-VMA move.
bool multi_allowed(const Vma &v) {
  if (!v.file) return true;
  const OpenFile *f = static_cast<const OpenFile *>(v.file.get());
  AreaPolicy p = f->inode()->area_policy();
  return p == AreaPolicy::shmem || p == AreaPolicy::hugetlb || p == AreaPolicy::thp ||
         p == AreaPolicy::generic;
}
}  // namespace

class Remapper {
 public:
  Remapper(AddressSpace &mm, const TaskLimits &lim) : mm_(mm), lim_(lim) {}

  Result<uint64_t> run(Remap r);

 private:
  Result<void> check_prep_vma(Remap &r);
  Result<uint64_t> at(Remap &r);
  Result<uint64_t> to(Remap &r);
  Result<uint64_t> move_only(Remap &r);
  Result<uint64_t> expand(Remap &r);
  Result<void> set_new_addr(Remap &r);
  Result<uint64_t> move_vma(Remap &r);
  Result<void> shrink(Remap &r);
  Result<void> munmap_range(uint64_t start, uint64_t len);

  AddressSpace &mm_;
  const TaskLimits &lim_;
};

Result<void> Remapper::munmap_range(uint64_t start, uint64_t len) {
  Result<void> r = mm_.munmap(start, len);
  return r;
}

Result<uint64_t> AddressSpace::mremap(uint64_t addr, uint64_t old_len, uint64_t new_len,
                                      uint64_t flags, uint64_t new_addr, const TaskLimits &lim) {
  Remap r{addr, old_len, new_len, flags, new_addr, nullptr, 0, RemapType::no_resize, {}, {}, false};
  Remapper m(*this, lim);
  Result<uint64_t> res = m.run(r);
  if (res && listener) {
    // (A shrink in place and the unmapping of a MREMAP_FIXED target were told by munmap.)
    const uint64_t olen = page_align(old_len), nlen = page_align(new_len);
    const Vma *v = vmas.tree.find(*res);
    const uint64_t prot = v && v->start <= *res ? prot_of(v->flags) : 0;
    if (*res == addr) {
      if (nlen > olen) notify(LayoutChange::mapped, addr + olen, addr + nlen, prot);
    } else {
      notify(LayoutChange::moved, addr, addr + (olen ? std::min(olen, nlen) : nlen), prot, *res);
      if (olen && nlen > olen) notify(LayoutChange::mapped, *res + olen, *res + nlen, prot);
      if (flags & kDontUnmap) {
        const Vma *old = vmas.tree.find(addr);
        notify(LayoutChange::mapped, addr, addr + olen,
               old && old->start <= addr ? prot_of(old->flags) : 0);
      }
    }
  }
  return res;
}

Result<uint64_t> Remapper::run(Remap r) {
  AddressSpace &mm = mm_;
  r.source.vmas.reserve(2);
  r.old_len = mm.page_align(r.old_len);
  r.new_len = mm.page_align(r.new_len);
  // Linux: check_mremap_params.
  if (r.flags & ~(kFixed | kMayMove | kDontUnmap)) return fail(Errno::inval);
  if (!mm.page_aligned(r.addr)) return fail(Errno::inval);
  if (!r.new_len) return fail(Errno::inval);
  if (r.new_len > mm.task_size) return fail(Errno::inval);
  if (r.implies_new()) {
    if (r.new_addr > mm.task_size - r.new_len) return fail(Errno::inval);
    if (!mm.page_aligned(r.new_addr)) return fail(Errno::inval);
    if (!(r.flags & kMayMove)) return fail(Errno::inval);
    if ((r.flags & kDontUnmap) && r.old_len != r.new_len) return fail(Errno::inval);
    if (r.addr + r.old_len > r.new_addr && r.new_addr + r.new_len > r.addr)
      return fail(Errno::inval);
    if (static_cast<uint64_t>(mm.vmas.map_count()) + 2 >= mm.cfg.max_map_count - 3)
      return fail(Errno::nomem);
  }
  // A same-size MREMAP_FIXED move may span several VMAs (6.17+).
  if ((r.flags & kFixed) && r.old_len == r.new_len) return move_only(r);
  Vma *v = mm.vmas.tree.find(r.addr);
  r.vma = (v && v->start <= r.addr) ? v : nullptr;
  VMS_TRY(check_prep_vma(r));
  return r.implies_new() ? to(r) : at(r);
}

// Linux: check_prep_vma.
Result<void> Remapper::check_prep_vma(Remap &r) {
  AddressSpace &mm = mm_;
  Vma *v = r.vma;
  if (!v) return fail(Errno::fault);
  if (v->flags & vm::sealed) return fail(Errno::perm);
  if (v->flags & vm::hugetlb) {
    uint64_t h = huge_size_of(*v);
    r.old_len = (r.old_len + h - 1) & ~(h - 1);
    r.new_len = (r.new_len + h - 1) & ~(h - 1);
    if ((r.addr & (h - 1)) || (r.new_addr & (h - 1)) || r.new_len > r.old_len)
      return fail(Errno::inval);
  }
  r.delta = r.new_len > r.old_len ? r.new_len - r.old_len : r.old_len - r.new_len;
  r.type = r.delta == 0 ? RemapType::no_resize
                        : (r.old_len > r.new_len ? RemapType::shrink : RemapType::expand);
  if (!r.implies_new()) r.new_addr = r.addr;
  if (!(r.type == RemapType::expand || r.implies_new())) return {};

  uint64_t old_len = r.old_len;
  if (!old_len && !(v->flags & (vm::shared | vm::mayshare))) return fail(Errno::inval);
  if ((r.flags & kDontUnmap) && (v->flags & (vm::dontexpand | vm::pfnmap)))
    return fail(Errno::inval);
  // A shrink may cross the end of the VMA (it unmaps whatever is there).
  if (r.type == RemapType::shrink) old_len = r.new_len;
  if (old_len > v->end - r.addr) return fail(Errno::fault);
  if (r.new_len == old_len) return {};
  uint64_t pgoff = v->pgoff + ((r.addr - v->start) >> mm.page_shift);
  if (pgoff + (r.new_len >> mm.page_shift) < pgoff) return fail(Errno::inval);
  if (v->flags & (vm::dontexpand | vm::pfnmap)) return fail(Errno::fault);
  // mlock_future_ok
  if ((v->flags & vm::locked) && !lim_.cap_ipc_lock &&
      mm.pages(r.delta) + mm.locked_vm > (lim_.rlimit_memlock >> mm.page_shift))
    return fail(Errno::again);
  if (!mm.may_expand_vm(v->flags, mm.pages(r.delta), lim_)) return fail(Errno::nomem);
  return {};
}

Result<void> Remapper::shrink(Remap &r) { return munmap_range(r.addr + r.new_len, r.delta); }

// Linux: mremap_at (no new address).
Result<uint64_t> Remapper::at(Remap &r) {
  switch (r.type) {
    case RemapType::no_resize:
      return r.addr;
    case RemapType::shrink: {
      VMS_TRY(shrink(r));
      return r.addr;
    }
    case RemapType::expand:
      return expand(r);
  }
  return fail(Errno::inval);
}

// Linux: expand_vma, vrm_can_expand_in_place, expand_vma_in_place.
Result<uint64_t> Remapper::expand(Remap &r) {
  AddressSpace &mm = mm_;
  Vma *v = r.vma;
  if (v->end - r.addr == r.old_len) {
    uint64_t end = v->end + r.delta;
    bool expandable = end >= v->end && !mm.vmas.tree.find_intersection(v->end, end) &&
                      mm.check_fixed_range(v->start, end - v->start, lim_).ok();
    if (expandable) {
      if ((v->flags & vm::account) && !mm.vm_enough_memory(mm.pages(r.delta), lim_))
        return fail(Errno::nomem);
      VmaProposal p = mm.vmas.proposal_of(*v, v->end, end);
      Vma *next = VmaTree::next(v);
      Vma *res = mm.vmas.merge_new(p, v, next);
      if (!res) return fail(Errno::nomem);
      mm.vm_stat_account(res->flags, static_cast<int64_t>(mm.pages(r.delta)));
      if (res->flags & vm::locked) {
        mm.locked_vm += mm.pages(r.delta);
        mm.populate(r.addr + r.old_len, r.delta);
      }
      mm.update_hiwater();
      return r.addr;
    }
  }
  if (!(r.flags & kMayMove)) return fail(Errno::nomem);
  VMS_TRY(set_new_addr(r));
  return move_vma(r);
}

// Linux: vrm_set_new_addr.
Result<void> Remapper::set_new_addr(Remap &r) {
  AddressSpace &mm = mm_;
  Vma *v = r.vma;
  uint64_t pgoff = v->pgoff + ((r.addr - v->start) >> mm.page_shift);
  uint64_t hint = r.implies_new() ? r.new_addr : 0;
  uint64_t map_flags = 0;
  if (r.flags & kFixed) map_flags |= lx::map_fixed;
  if (v->flags & vm::mayshare) map_flags |= lx::map_shared;
  const OpenFile *file = static_cast<const OpenFile *>(v->file.get());
  // Private /dev/zero and special mappings choose their address like anonymous
  // memory.
  if (v->special != Special::none) file = nullptr;
  Result<uint64_t> a = mm.get_unmapped_area(file, hint, r.new_len, pgoff, map_flags, 0);
  if (!a) return fail(a.error());
  if (*a < mm.cfg.mmap_min_addr && !lim_.cap_sys_rawio) return fail(Errno::perm);
  r.new_addr = *a;
  return {};
}

// Linux: mremap_to (MREMAP_FIXED or MREMAP_DONTUNMAP).
Result<uint64_t> Remapper::to(Remap &r) {
  AddressSpace &mm = mm_;
  TableHold hold(mm.pt);
  if (r.flags & kFixed) {
    try {
      mm.prepare_move(r.addr, r.new_addr, std::min(r.old_len, r.new_len), r.pages);
      r.pages_prepared = true;
    } catch (const std::bad_alloc &) {
      return fail(Errno::nomem);
    }
    VMS_TRY(munmap_range(r.new_addr, r.new_len));
    Vma *v = mm.vmas.tree.find(r.addr);
    r.vma = (v && v->start <= r.addr) ? v : nullptr;
    if (!r.vma) return fail(Errno::fault);
  }
  if (r.type == RemapType::shrink) {
    VMS_TRY(shrink(r));
    r.old_len = r.new_len;
    Vma *v = mm.vmas.tree.find(r.addr);
    r.vma = v;
  }
  if ((r.flags & kDontUnmap) && !mm.may_expand_vm(r.vma->flags, mm.pages(r.old_len), lim_))
    return fail(Errno::nomem);
  VMS_TRY(set_new_addr(r));
  return move_vma(r);
}

// Linux: move_vma with prep_move_vma, copy_vma_and_data, unmap_source_vma and
// dontunmap_complete.
Result<uint64_t> Remapper::move_vma(Remap &r) {
  AddressSpace &mm = mm_;
  Vma *v = r.vma;
  if (static_cast<uint64_t>(mm.vmas.map_count()) >= mm.cfg.max_map_count - 3)
    return fail(Errno::nomem);
  UnmapPlan &plan = r.source;
  // Special mappings and hugetlbfs cannot be split where the move would cut
  // them.
  if ((v->start != r.addr && !VmaSet::may_split(*v, r.addr)) ||
      (v->end != r.addr + r.old_len && !VmaSet::may_split(*v, r.addr + r.old_len)))
    return fail(Errno::inval);
  uint64_t charged = 0;
  if (v->flags & vm::account) {
    charged = (r.flags & kDontUnmap) ? mm.pages(r.new_len) : mm.pages(r.delta);
    if (!mm.vm_enough_memory(charged, lim_)) return fail(Errno::nomem);
  }
  TableHold hold(mm.pt);
  if (!r.pages_prepared) {
    try {
      mm.prepare_move(r.addr, r.new_addr, std::min(r.old_len, r.new_len), r.pages);
      r.pages_prepared = true;
    } catch (const std::bad_alloc &) {
      if (charged) mm.vm_unacct_memory(charged);
      return fail(Errno::nomem);
    }
  }

  // copy_vma: the new VMA merges with its neighbours if it can. Anonymous
  // memory that was never faulted takes the page offset of its new address, so
  // that it can merge there.
  const uint64_t vma_start = v->start;
  uint64_t new_pgoff = v->pgoff + ((r.addr - v->start) >> mm.page_shift);
  if (v->is_anonymous() && !v->anon) new_pgoff = r.new_addr >> mm.page_shift;
  Vma *next = mm.vmas.tree.find(r.new_addr);
  Vma *prev = next ? VmaTree::prev(next) : mm.vmas.tree.last();
  VmaProposal p = mm.vmas.proposal_of(*v, r.new_addr, r.new_addr + r.new_len);
  p.pgoff = new_pgoff;
  Vma *nv = nullptr;
  if (v->special == Special::none) nv = mm.vmas.merge_new(p, prev, next);
  if (nv) {
    // The source itself may have been merged with its own new range.
    if (vma_start >= nv->start && vma_start < nv->end) v = nv;
  } else {
    Vma copy = *v;
    copy.start = r.new_addr;
    copy.end = r.new_addr + r.new_len;
    copy.pgoff = new_pgoff;
    nv = mm.vmas.alloc(copy);
    mm.vmas.link(nv);
  }

  // The pages go with the mapping (Linux: move_page_tables); the old range is left empty.
  mm.commit_move(r.pages);

  const uint64_t hiwater = mm.hiwater_vm;
  // vrm_stat_account with the source's flags.
  mm.vm_stat_account(v->flags, static_cast<int64_t>(mm.pages(r.new_len)));
  const bool locked = v->flags & vm::locked;
  if (locked) mm.locked_vm += mm.pages(r.new_len);

  if (r.flags & kDontUnmap) {
    // The old range stays mapped (private anonymous memory reads zeros there),
    // and the whole old VMA loses VM_LOCKED and VM_LOCKONFAULT; locked_vm is
    // left as it was. It keeps VM_ACCOUNT (observed on 6.18: the new range was
    // charged on top).
    Vma *old = mm.vmas.tree.find(r.addr);
    if (old) {
      if (old->flags & vm::locked) mm.locked_vm_skew += mm.pages(old->size());
      old->flags &= ~vm::locked_mask;
      if (old != nv && r.addr == old->start && r.addr + r.old_len == old->end) {
        old->anon = nullptr;  // Linux: unlink_anon_vmas empties the whole chain
        old->anon_has_parents = false;
      }
    }
  } else if (r.old_len) {
    // unmap_source_vma: VM_ACCOUNT is cleared for the unmap (the charge moved
    // with the pages) and given back to what remains of the source.
    Vma *src = mm.vmas.tree.find(r.addr);
    bool accountable = src && (src->flags & vm::account);
    uint64_t src_start = src ? src->start : 0, src_end = src ? src->end : 0;
    if (accountable) src->flags &= ~vm::account;
    Result<void> g = src ? mm.gather_unmap(r.addr, r.addr + r.old_len, src, plan) : Result<void>();
    if (g) {
      if (src) mm.complete_unmap(plan);
      if (accountable) {
        if (src_start < r.addr) {
          Vma *below = mm.vmas.tree.find(src_start);
          if (below) below->flags |= vm::account;
        }
        if (src_end > r.addr + r.old_len) {
          Vma *above = mm.vmas.tree.find(r.addr + r.old_len);
          if (above) above->flags |= vm::account;
        }
      }
    }
  }
  mm.hiwater_vm = hiwater;
  // A locked mapping that grew: its new part is faulted in (Linux: mm_populate in mremap).
  if (locked && r.new_len > r.old_len) mm.populate(r.new_addr + r.old_len, r.new_len - r.old_len);
  return r.new_addr;
}

// Linux: remap_move. Every VMA of [addr, addr+len) moves, gaps between them
// kept.
Result<uint64_t> Remapper::move_only(Remap &r) {
  AddressSpace &mm = mm_;
  const uint64_t start = r.addr, end = r.addr + r.old_len;
  bool seen = false;
  uint64_t target = r.new_addr, last_end = 0;
  Result<uint64_t> res = fail(Errno::fault);
  // The walk goes on after the end each VMA had when it was found (the source of a
  // MREMAP_DONTUNMAP move stays in place and is not visited again).
  uint64_t pos = start;
  for (Vma *v = mm.vmas.tree.find(pos); v && v->start < end; v = mm.vmas.tree.find(pos)) {
    const uint64_t a = v->start > start ? v->start : start;
    const uint64_t len = (end < v->end ? end : v->end) - a;
    if (!seen && start < v->start) return fail(Errno::fault);
    const uint64_t offset = seen ? v->start - last_end : 0;
    last_end = v->end;
    pos = v->end;
    Remap piece{a, len, len, r.flags, target + offset, v, 0, RemapType::no_resize, {}, {}, false};
    piece.source.vmas.reserve(2);
    if (!multi_allowed(*v) && (seen || v->end < end)) return fail(Errno::fault);
    Result<void> e = check_prep_vma(piece);
    Result<uint64_t> one = e ? to(piece) : Result<uint64_t>(fail(e.error()));
    if (!one) return one;
    if (!seen) res = *one;
    seen = true;
    target = *one + piece.new_len;
    if (pos >= end) break;
  }
  return res;
}

}  // namespace vmspace
