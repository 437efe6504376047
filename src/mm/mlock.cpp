// Locking memory (Linux: mm/mlock.c do_mlock, apply_vma_lock_flags,
// mlock_fixup, apply_mlockall_flags; mm/gup.c __mm_populate).
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
constexpr uint64_t kMclCurrent = lx::mcl_current, kMclFuture = lx::mcl_future,
                   kMclOnfault = lx::mcl_onfault;
}  // namespace

// Linux: count_mm_mlocked_page_nr.
uint64_t AddressSpace::count_mlocked_pages(uint64_t start, uint64_t len) const {
  uint64_t end = (~0ull - len < start) ? ~0ull : start + len;
  int64_t count = 0;
  for (const Vma *v = vmas.tree.find(start); v && v->start < end; v = VmaTree::next(v)) {
    if (!(v->flags & vm::locked)) continue;
    if (start > v->start) count -= static_cast<int64_t>(start - v->start);
    if (end < v->end) {
      count += static_cast<int64_t>(end - v->start);
      break;
    }
    count += static_cast<int64_t>(v->end - v->start);
  }
  return static_cast<uint64_t>(count) >> page_shift;
}

// Linux: mlock_fixup. *out is the VMA that now covers [start, end).
Result<void> AddressSpace::mlock_fixup(Vma *v, uint64_t start, uint64_t end, uint64_t newflags,
                                       Vma **out) {
  *out = v;
  const uint64_t oldflags = v->flags;
  // Special, hugetlb and droppable VMAs are never locked (and not counted).
  if (newflags == oldflags || (oldflags & vm::special) || (oldflags & vm::hugetlb) ||
      (oldflags & vm::droppable))
    return {};
  VmaProposal p = vmas.proposal_of(*v, start, end);
  p.flags = newflags;
  Vma *res = nullptr;
  VMS_TRY(vmas.modify(p, v, static_cast<int>(cfg.max_map_count), &res));
  // Linux counts in an int here: 2^31 pages and more wrap (a 64 TiB VMA adds nothing).
  int32_t nr = static_cast<int32_t>(static_cast<uint32_t>(pages(end - start)));
  if (!(newflags & vm::locked))
    nr = static_cast<int32_t>(0u - static_cast<uint32_t>(nr));
  else if (oldflags & vm::locked)
    nr = 0;
  locked_vm += static_cast<uint64_t>(static_cast<int64_t>(nr));
  // The pages whose VM_LOCKED changed, against what was counted: the wrap, if any.
  uint64_t exact = 0;
  if ((newflags & vm::locked) && !(oldflags & vm::locked))
    exact = pages(end - start);
  else if (!(newflags & vm::locked) && (oldflags & vm::locked))
    exact = 0 - pages(end - start);
  locked_vm_skew += static_cast<uint64_t>(static_cast<int64_t>(nr)) - exact;
  res->flags = newflags | (res->flags & vm::sticky);
  *out = res;
  return {};
}

// Linux: apply_vma_lock_flags. start and len are page aligned.
Result<void> AddressSpace::apply_vma_lock_flags(uint64_t start, uint64_t len, uint64_t flags) {
  const uint64_t end = start + len;
  if (end < start) return fail(Errno::inval);
  if (end == start) return {};
  Vma *v = vmas.tree.find(start);
  if (!v || v->start > start) return fail(Errno::nomem);
  uint64_t nstart = start, tmp = v->start;
  while (v && v->start < end) {
    if (v->start != tmp) return fail(Errno::nomem);
    uint64_t newflags = (v->flags & ~vm::locked_mask) | flags;
    tmp = v->end < end ? v->end : end;
    Vma *res;
    VMS_TRY(mlock_fixup(v, nstart, tmp, newflags, &res));
    tmp = res->end;
    nstart = tmp;
    if (tmp >= end) break;
    v = VmaTree::next(res);
  }
  if (tmp < end) return fail(Errno::nomem);
  return {};
}

Result<void> AddressSpace::mlock(uint64_t start, uint64_t len, uint64_t lock_flags,
                                 const TaskLimits &lim) {
  // can_do_mlock
  if (lim.rlimit_memlock == 0 && !lim.cap_ipc_lock) return fail(Errno::perm);
  len = page_align(len + (start & (page_size - 1)));
  start &= ~(page_size - 1);
  const uint64_t lock_limit = lim.rlimit_memlock >> page_shift;
  uint64_t locked = pages(len) + locked_vm;
  if (locked > lock_limit && !lim.cap_ipc_lock) {
    // Pages already locked are not counted twice.
    locked -= count_mlocked_pages(start, len);
  }
  if (locked > lock_limit && !lim.cap_ipc_lock) return fail(Errno::nomem);
  VMS_TRY(apply_vma_lock_flags(start, len, lock_flags));
  lru_drain();
  Result<void> r = populate_range(start, len, false);
  // Linux: __mlock_posix_error_return.
  if (r.error() == Errno::fault) return fail(Errno::nomem);
  if (r.error() == Errno::nomem) return fail(Errno::again);
  return r;
}

Result<void> AddressSpace::munlock(uint64_t start, uint64_t len) {
  len = page_align(len + (start & (page_size - 1)));
  start &= ~(page_size - 1);
  return apply_vma_lock_flags(start, len, 0);
}

namespace {
// Linux: apply_mlockall_flags. Errors of single VMAs are ignored.
void apply_mlockall(AddressSpace &mm, uint64_t flags) {
  mm.def_flags &= ~vm::locked_mask;
  if (flags & kMclFuture) {
    mm.def_flags |= vm::locked;
    if (flags & kMclOnfault) mm.def_flags |= vm::lockonfault;
    if (!(flags & kMclCurrent)) return;
  }
  uint64_t to_add = 0;
  if (flags & kMclCurrent) {
    to_add |= vm::locked;
    if (flags & kMclOnfault) to_add |= vm::lockonfault;
  }
  for (Vma *v = mm.vmas.tree.first(); v;) {
    uint64_t newflags = (v->flags & ~vm::locked_mask) | to_add;
    Vma *res = v;
    (void)mm.mlock_fixup(v, v->start, v->end, newflags, &res);
    v = VmaTree::next(res);
  }
}
}  // namespace

Result<void> AddressSpace::mlockall(uint64_t flags, const TaskLimits &lim) {
  if (!flags || (flags & ~(kMclCurrent | kMclFuture | kMclOnfault)) || flags == kMclOnfault)
    return fail(Errno::inval);
  if (lim.rlimit_memlock == 0 && !lim.cap_ipc_lock) return fail(Errno::perm);
  const uint64_t lock_limit = lim.rlimit_memlock >> page_shift;
  if ((flags & kMclCurrent) && total_vm > lock_limit && !lim.cap_ipc_lock)
    return fail(Errno::nomem);
  apply_mlockall(*this, flags);
  lru_drain();
  if (flags & kMclCurrent) populate(0, task_size);
  return {};
}

Result<void> AddressSpace::munlockall() {
  apply_mlockall(*this, 0);
  return {};
}

}  // namespace vmspace
