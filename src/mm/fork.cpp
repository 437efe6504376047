// Copying an address space for fork (Linux: kernel/fork.c dup_mm, mm/mmap.c
// dup_mmap, mm/rmap.c anon_vma_fork).
#include <new>

#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"

namespace vmspace {

Result<std::shared_ptr<AddressSpace>> AddressSpace::fork_copy(const TaskLimits &lim) {
  drop_stale();  // entries of truncated-away pages are not copied
  auto child = std::make_shared<AddressSpace>(ctx, 8ull << 20);
  AddressSpace &c = *child;
  c.mmap_base = mmap_base;
  c.mmap_legacy_base = mmap_legacy_base;
  c.topdown = topdown;
  c.start_code = start_code;
  c.end_code = end_code;
  c.start_data = start_data;
  c.end_data = end_data;
  c.start_brk = start_brk;
  c.brk = brk;
  c.start_stack = start_stack;
  c.has_vsyscall = has_vsyscall;
  // mlockall(MCL_FUTURE) is not inherited; VM_NOHUGEPAGE from prctl is.
  c.def_flags = def_flags & vm::nohugepage;
  c.total_vm = total_vm;
  c.data_vm = data_vm;
  c.exec_vm = exec_vm;
  c.stack_vm = stack_vm;
  c.locked_vm = 0;
  c.locked_vm_skew = 0;

  // On failure the child is dropped: its destructor gives back the commitment of the VMAs
  // it holds (Linux: dup_mmap's fail_nomem, then mmput); only the VMA being copied is given
  // back here.
  for (const Vma *v = vmas.tree.first(); v; v = VmaTree::next(v)) {
    if (v->flags & vm::dontcopy) {
      c.vm_stat_account(v->flags, -static_cast<int64_t>(pages(v->size())));
      continue;
    }
    uint64_t charge = 0;
    if (v->flags & vm::account) {
      if (!vm_enough_memory(pages(v->size()), lim)) return fail(Errno::nomem);
      charge = pages(v->size());
    }
    // Room for the copy in the child's pools first: a link that failed halfway would leave
    // the child's tree broken.
    Vma copy;
    try {
      if (!c.vmas.reserve(1)) throw std::bad_alloc();
      copy = *v;
      if (v->flags & vm::wipeonfork) {
        copy.anon = nullptr;  // a clean slate in the child
        copy.anon_has_parents = false;
      } else if (v->anon) {
        // The child's VMA is linked to the parent's anon_vma (pages not yet
        // copied) and gets its own: its chain is no longer singular.
        copy.anon = make_ref<AnonVma>(next_anon_id(), v->anon);
        copy.anon_has_parents = true;
      }
    } catch (const std::bad_alloc &) {
      if (charge) vm_unacct_memory(charge);
      return fail(Errno::nomem);
    }
    copy.flags &= ~vm::locked_mask;
    c.vmas.link(c.vmas.alloc(copy));
    try {
      fork_pages(c, *v);
    } catch (const std::bad_alloc &) {
      return fail(Errno::nomem);  // the child (freed by the caller) had no room for tables
    }
  }
  c.hiwater_vm = c.total_vm;
  c.hiwater_rss = c.rss();
  for (int i : {0, 1, 2, 4}) c.rss_base[i] = rss_base[i];
  return child;
}

}  // namespace vmspace
