// VmaSet: splitting and merging of VMAs (Linux: mm/vma.c). See vma_set.hpp for the rules.
#include "vma/vma_set.hpp"

#include <cstring>

namespace vmspace {

VmaSet::~VmaSet() {
  std::vector<Vma *> all;
  for (Vma *v = tree.first(); v; v = VmaTree::next(v)) all.push_back(v);
  tree.clear();
  for (Vma *v : all) release(v);
}

void VmaSet::set_meter(MemoryMeter *m) {
  if (meter_) meter_->charge(-static_cast<int64_t>(live_ * kVmaHeap));
  meter_ = m;
  if (meter_) meter_->charge(static_cast<int64_t>(live_ * kVmaHeap));
  pool_.set_meter(m);
  tree.set_meter(m);
}

Vma *VmaSet::alloc(const Vma &proto) {
  Vma *v = pool_.make(proto);
  live_++;
  if (meter_) meter_->charge(kVmaHeap);
  return v;
}

void VmaSet::release(Vma *v) {
  pool_.destroy(v);
  live_--;
  if (meter_) meter_->charge(-kVmaHeap);
}

Vma *VmaSet::split(Vma *v, uint64_t addr, bool new_below) {
  if (on_boundary) on_boundary(boundary_owner, addr);
  Vma *n = alloc(*v);
  uint64_t delta = (addr - v->start) >> page_shift_;
  Vma *news[2];
  if (new_below) {
    n->end = addr;
    v->start = addr;
    v->pgoff += delta;
    news[0] = n;
    news[1] = v;
  } else {
    n->start = addr;
    n->pgoff += delta;
    v->end = addr;
    news[0] = v;
    news[1] = n;
  }
  tree.replace(v, 1, news, 2);
  return n;
}

bool VmaSet::attrs_mergeable(const Vma &v, const VmaProposal &p) {
  // VM_SOFTDIRTY and the sticky guard marker do not keep VMAs apart.
  if ((v.flags ^ p.flags) & ~vm::sticky) return false;
  if (v.file.get() != p.file) return false;
  if (v.special != p.special) return false;
  const AnonName *a = v.anon_name.get(), *b = p.anon_name;
  if (a != b && (!a || !b || a->name != b->name)) return false;
  return true;
}

// Linux 6.16+ (is_mergeable_anon_vma): a target without anon_vma may take the source's unless
// the source still shares pages with a fork parent; a source without one may join a target
// unless the target does; otherwise both must already share one.
bool VmaSet::anon_mergeable(const AnonVma *src_anon, const Vma *src, const Vma &target) {
  const AnonVma *tgt_anon = target.anon.get();
  if (!tgt_anon && src_anon) return !(src && src->anon && src->anon_has_parents);
  if (tgt_anon && !src_anon) return !target.anon_has_parents;
  return src_anon == tgt_anon;
}

bool VmaSet::anon_compatible(const Vma &a, const Vma &b) {
  return !a.anon || !b.anon || a.anon == b.anon;
}

void VmaSet::dup_anon(Vma *dst, const Vma *src) {
  if (src->anon && !dst->anon) {
    dst->anon = src->anon;
    dst->anon_has_parents = src->anon_has_parents;
  }
}

VmaProposal VmaSet::proposal_of(const Vma &v, uint64_t start, uint64_t end) const {
  VmaProposal p;
  p.start = start;
  p.end = end;
  p.pgoff = v.pgoff + ((start - v.start) >> page_shift_);
  p.flags = v.flags;
  p.file = v.file.get();
  p.anon = v.anon.get();
  p.anon_has_parents = v.anon_has_parents;
  p.anon_name = v.anon_name.get();
  p.special = v.special;
  return p;
}

Vma *VmaSet::merge_new(const VmaProposal &p, Vma *prev, Vma *next, bool just_expand) {
  if ((p.flags & vm::special) || (!prev && !next)) return nullptr;
  uint64_t pglen = (p.end - p.start) >> page_shift_;
  bool left = prev && prev->end == p.start && attrs_mergeable(*prev, p) &&
              anon_mergeable(p.anon, nullptr, *prev) &&
              prev->pgoff + (prev->size() >> page_shift_) == p.pgoff;
  bool right = !just_expand && next && p.end == next->start && attrs_mergeable(*next, p) &&
               anon_mergeable(p.anon, nullptr, *next) && next->pgoff == p.pgoff + pglen &&
               (!left || anon_compatible(*prev, *next));
  // Sticky flags survive a merge: the merged VMA has them if any part had them.
  const uint64_t sticky =
      (p.flags | (left ? prev->flags : 0) | (right ? next->flags : 0)) & vm::sticky;
  Vma *target;
  if (left && right) {
    dup_anon(prev, next);
    prev->end = next->end;
    tree.replace(prev, 2, &prev, 1);
    release(next);
    target = prev;
  } else if (left) {
    prev->end = p.end;
    tree.replace(prev, 1, &prev, 1);
    target = prev;
  } else if (right) {
    next->start = p.start;
    next->pgoff = p.pgoff;
    tree.replace(next, 1, &next, 1);
    target = next;
  } else {
    return nullptr;
  }
  target->flags |= sticky;
  // A range copied from a VMA with anonymous pages (mremap) brings its anon_vma along.
  if (p.anon && !target->anon) {
    target->anon = Ref<AnonVma>(p.anon);
    target->anon_has_parents = p.anon_has_parents;
  }
  return target;
}

Vma *VmaSet::merge_existing(const VmaProposal &p, Vma *middle) {
  bool left_side = p.start == middle->start;
  bool right_side = p.end == middle->end;
  if ((p.flags & vm::special) || (!left_side && !right_side)) return nullptr;
  uint64_t pglen = (p.end - p.start) >> page_shift_;

  Vma *prev = left_side ? VmaTree::prev(middle) : nullptr;
  bool merge_left = prev && prev->end == p.start && attrs_mergeable(*prev, p) &&
                    anon_mergeable(p.anon, middle, *prev) &&
                    prev->pgoff + (prev->size() >> page_shift_) == p.pgoff;
  Vma *next = right_side ? VmaTree::next(middle) : nullptr;
  bool merge_right = next && next->start == p.end && attrs_mergeable(*next, p) &&
                     anon_mergeable(p.anon, middle, *next) && next->pgoff == p.pgoff + pglen &&
                     (!merge_left || anon_compatible(*prev, *next));
  if (!merge_left && !merge_right) return nullptr;
  bool delete_middle = left_side && right_side;
  // Sticky flags survive a merge: the merged VMA has them if any part had them.
  const uint64_t sticky =
      (p.flags | middle->flags | (merge_left ? prev->flags : 0) | (merge_right ? next->flags : 0)) &
      vm::sticky;

  if (merge_left && merge_right) {
    dup_anon(prev, next->anon ? next : middle);
    prev->flags |= sticky;
    prev->end = next->end;
    tree.replace(prev, 3, &prev, 1);
    release(middle);
    release(next);
    return prev;
  }
  if (merge_left) {
    dup_anon(prev, middle);
    prev->flags |= sticky;
    prev->end = p.end;
    if (delete_middle) {
      tree.replace(prev, 2, &prev, 1);
      release(middle);
    } else {
      if (on_boundary) on_boundary(boundary_owner, p.end);
      middle->pgoff += pglen;
      middle->start = p.end;
      Vma *news[2] = {prev, middle};
      tree.replace(prev, 2, news, 2);
    }
    return prev;
  }
  dup_anon(next, middle);
  next->flags |= sticky;
  next->start = p.start;
  next->pgoff -= pglen;
  if (delete_middle) {
    tree.replace(middle, 2, &next, 1);
    release(middle);
  } else {
    if (on_boundary) on_boundary(boundary_owner, p.start);
    middle->end = p.start;
    Vma *news[2] = {middle, next};
    tree.replace(middle, 2, news, 2);
  }
  return next;
}

Result<void> VmaSet::modify(const VmaProposal &p, Vma *middle, int max_map_count, Vma **out) {
  if (Vma *m = merge_existing(p, middle)) {
    *out = m;
    return {};
  }
  if (middle->start < p.start) {
    if (map_count() >= max_map_count) return fail(Errno::nomem);
    if (!may_split(*middle, p.start)) return fail(Errno::inval);
    split(middle, p.start, /*new_below=*/true);
  }
  if (middle->end > p.end) {
    if (map_count() >= max_map_count) return fail(Errno::nomem);
    if (!may_split(*middle, p.end)) return fail(Errno::inval);
    split(middle, p.end, /*new_below=*/false);
  }
  *out = middle;
  return {};
}

}  // namespace vmspace
