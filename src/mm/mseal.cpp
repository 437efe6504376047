// Sealing (Linux 6.10+: mm/mseal.c do_mseal, range_contains_unmapped,
// mseal_apply).
//
// A sealed VMA refuses munmap, mprotect, mremap, MAP_FIXED over it and
// destructive madvise with EPERM; sealing splits and merges like any flag
// change.
#include "mm/address_space.hpp"

namespace vmspace {

Result<void> AddressSpace::mseal(uint64_t start, uint64_t len_in, uint64_t flags) {
  if (flags) return fail(Errno::inval);
  if (!page_aligned(start)) return fail(Errno::inval);
  uint64_t len = page_align(len_in);
  if (len_in && !len) return fail(Errno::inval);
  uint64_t end = start + len;
  if (end < start) return fail(Errno::inval);
  if (end == start) return {};
  // The whole range must be mapped.
  uint64_t prev_end = start;
  for (Vma *v = vmas.tree.find(start); v && v->start < end; v = VmaTree::next(v)) {
    if (v->start > prev_end) return fail(Errno::nomem);
    prev_end = v->end;
  }
  if (prev_end < end) return fail(Errno::nomem);

  uint64_t cur = start;
  Vma *v = vmas.tree.find(start);
  while (v && v->start < end) {
    uint64_t cur_end = v->end < end ? v->end : end;
    // A merge with the VMA before may have taken this one's start already (the range has no
    // holes: checked above).
    if (cur < v->start) cur = v->start;
    Vma *res = v;
    if (!(v->flags & vm::sealed)) {
      VmaProposal p = vmas.proposal_of(*v, cur, cur_end);
      p.flags |= vm::sealed;
      VMS_TRY(vmas.modify(p, v, static_cast<int>(cfg.max_map_count), &res));
      res->flags |= vm::sealed;
    }
    cur = cur_end;
    if (res->end >= end) break;
    v = VmaTree::next(res);
  }
  return {};
}

}  // namespace vmspace
