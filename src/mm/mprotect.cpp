// Changing protections (Linux: mm/mprotect.c do_mprotect_pkey, mprotect_fixup).
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
uint64_t prot_bits(uint64_t prot) {
  return ((prot & lx::prot_read) ? vm::read : 0) | ((prot & lx::prot_write) ? vm::write : 0) |
         ((prot & lx::prot_exec) ? vm::exec : 0);
}
}  // namespace

Result<void> AddressSpace::mprotect(uint64_t start, uint64_t len, uint64_t prot,
                                    const TaskLimits &lim) {
  const uint64_t grows = prot & (lx::prot_growsdown | lx::prot_growsup);
  prot &= ~(lx::prot_growsdown | lx::prot_growsup);
  if (grows == (lx::prot_growsdown | lx::prot_growsup)) return fail(Errno::inval);
  if (!page_aligned(start)) return fail(Errno::inval);
  if (!len) return {};
  len = page_align(len);
  uint64_t end = start + len;
  if (end <= start) return fail(Errno::nomem);
  if (prot & ~(lx::prot_read | lx::prot_write | lx::prot_exec | lx::prot_sem))
    return fail(Errno::inval);

  Vma *v = vmas.tree.find(start);
  if (!v || v->start >= end) return fail(Errno::nomem);
  if (grows & lx::prot_growsdown) {
    start = v->start;
    if (!(v->flags & vm::growsdown)) return fail(Errno::inval);
  } else {
    if (v->start > start) return fail(Errno::nomem);
    if (grows & lx::prot_growsup) return fail(Errno::inval);  // no VM_GROWSUP on x86
  }

  const int max = static_cast<int>(cfg.max_map_count);
  uint64_t nstart = start;
  uint64_t tmp = v->start;
  Errno error = Errno::none;
  while (v && v->start < end) {
    if (v->start != tmp) {  // a hole: the earlier VMAs stay changed
      error = Errno::nomem;
      break;
    }
    const uint64_t oldflags = v->flags;
    uint64_t newflags = prot_bits(prot) | (oldflags & ~vm::access_flags);
    // Each requested permission needs the matching VM_MAY* bit.
    if ((newflags & ~(newflags >> 4)) & vm::access_flags) {
      error = Errno::acces;
      break;
    }
    tmp = v->end < end ? v->end : end;

    // Linux: mprotect_fixup.
    if (oldflags & vm::sealed) {
      error = Errno::perm;
      break;
    }
    Vma *res = v;
    if (newflags != oldflags) {
      const uint64_t nrpages = pages(tmp - nstart);
      uint64_t charged = 0;
      if (newflags & vm::write) {
        if (!may_expand_vm(newflags, nrpages, lim) && may_expand_vm(oldflags, nrpages, lim)) {
          error = Errno::nomem;
          break;
        }
        if (!(oldflags & (vm::account | vm::write | vm::hugetlb | vm::shared | vm::noreserve))) {
          charged = nrpages;
          if (!vm_enough_memory(charged, lim)) {
            error = Errno::nomem;
            break;
          }
          newflags |= vm::account;
        }
      } else if ((oldflags & vm::account) && v->is_anonymous() && !v->anon) {
        newflags &= ~vm::account;
      }
      VmaProposal p = vmas.proposal_of(*v, nstart, tmp);
      p.flags = newflags;
      Result<void> m = vmas.modify(p, v, max, &res);
      if (!m) {
        if (charged) vm_unacct_memory(charged);
        error = m.error();
        break;
      }
      res->flags = newflags | (res->flags & vm::sticky);
      if ((oldflags & vm::account) && !(newflags & vm::account)) vm_unacct_memory(nrpages);
      // A private locked VMA becoming writable is faulted in for writing right away
      // (Linux: populate_vma_page_range, which leaves VM_LOCKONFAULT memory alone).
      if ((oldflags & (vm::write | vm::shared | vm::locked)) == vm::locked &&
          (newflags & vm::write))
        (void)fault_in(res, res->start, res->end);
      vm_stat_account(oldflags, -static_cast<int64_t>(nrpages));
      vm_stat_account(newflags, static_cast<int64_t>(nrpages));
    }
    tmp = res->end;
    nstart = tmp;
    if (tmp >= end) break;  // done: do not touch the next VMA at all
    v = VmaTree::next(res);
  }
  // What changed (also before a failure: Linux's partial effect).
  notify(LayoutChange::protected_, start, nstart < end ? nstart : end, prot & lx::prot_rwx);
  if (error != Errno::none) return fail(error);
  if (tmp < end) return fail(Errno::nomem);
  return {};
}

}  // namespace vmspace
