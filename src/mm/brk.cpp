// The heap (Linux: mm/mmap.c sys_brk, check_brk_limits; mm/vma.c do_brk_flags).
//
// brk returns the requested value unrounded on success and the old break on any
// failure. The heap VMA grows only from a VMA that starts at or above start_brk
// (the bss stays separate), keeps one free page (and a stack's guard gap) below
// the next VMA, and counts against RLIMIT_DATA together with the data segment.
#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

Result<void> AddressSpace::check_fixed_range(uint64_t addr, uint64_t len,
                                             const TaskLimits &lim) const {
  if (len > task_size) return fail(Errno::nomem);
  if (addr >= static_cast<uint64_t>(-4095))
    return fail(static_cast<Errno>(-static_cast<int64_t>(addr)));
  if (addr > task_size - len) return fail(Errno::nomem);
  if (!page_aligned(addr)) return fail(Errno::inval);
  if (addr < cfg.mmap_min_addr && !lim.cap_sys_rawio) return fail(Errno::perm);
  return {};
}

uint64_t AddressSpace::do_brk(uint64_t newval, const TaskLimits &lim) {
  const uint64_t orig = brk;
  if (newval < start_brk) return orig;
  // RLIMIT_DATA covers the heap and the data segment (Linux:
  // check_data_rlimit).
  if (lim.rlimit_data != ~0ull && (newval - start_brk) + (end_data - start_data) > lim.rlimit_data)
    return orig;

  const uint64_t newbrk = page_align(newval);
  const uint64_t oldbrk = page_align(brk);
  if (oldbrk == newbrk) {
    brk = newval;
    return newval;
  }

  // Shrinking: unmap [newbrk, oldbrk); there must be something mapped there.
  if (newval <= brk) {
    Vma *v = vmas.tree.find(newbrk);
    if (!v || v->start >= oldbrk) return orig;
    UnmapPlan plan;
    if (!gather_unmap(newbrk, oldbrk, v, plan)) return orig;
    complete_unmap(plan);
    notify(LayoutChange::unmapped, newbrk, oldbrk);
    brk = newval;
    return newval;
  }

  // Growing. Linux: check_brk_limits.
  const uint64_t len = newbrk - oldbrk;
  if (!check_fixed_range(oldbrk, len, lim)) return orig;
  if ((def_flags & vm::locked) && !lim.cap_ipc_lock &&
      pages(len) + locked_vm > (lim.rlimit_memlock >> page_shift))
    return orig;
  // One free page, and the guard gap of a stack, must stay above the new break.
  Vma *next = vmas.tree.find(oldbrk);
  if (next && next->start < newbrk + page_size + stack_guard_gap() &&
      newbrk + page_size > vm_start_gap(*next))
    return orig;

  // Linux: do_brk_flags.
  const uint64_t flags =
      vm::read | vm::write | vm::mayread | vm::maywrite | vm::mayexec | vm::account | def_flags;
  if (!may_expand_vm(flags, pages(len), lim)) return orig;
  if (static_cast<uint64_t>(vmas.map_count()) > cfg.max_map_count) return orig;
  if (!vm_enough_memory(pages(len), lim)) return orig;

  Vma *prev = next ? VmaTree::prev(next) : vmas.tree.last();
  // Linux: vma_prev_limit(start_brk) - the VMA below the break that reaches above start_brk
  // (a heap merged with the data segment below it counts).
  Vma *brkvma = (prev && prev->end > start_brk) ? prev : nullptr;
  Vma *v = nullptr;
  if (brkvma && brkvma->end == oldbrk) {
    VmaProposal p;
    p.start = oldbrk;
    p.end = newbrk;
    p.pgoff = oldbrk >> page_shift;
    p.flags = flags;
    v = vmas.merge_new(p, brkvma, nullptr, /*just_expand=*/true);
  }
  if (!v) {
    Vma proto;
    proto.start = oldbrk;
    proto.end = newbrk;
    proto.flags = flags;
    proto.pgoff = oldbrk >> page_shift;
    v = vmas.alloc(proto);
    vmas.link(v);
  }
  total_vm += pages(len);
  data_vm += pages(len);
  if (flags & vm::locked) locked_vm += pages(len);
  update_hiwater();
  brk = newval;
  if (def_flags & vm::locked) populate(oldbrk, len);
  notify(LayoutChange::mapped, oldbrk, newbrk, lx::prot_read | lx::prot_write);
  return newval;
}

}  // namespace vmspace

namespace vmspace {

// Linux: vm_brk_flags, as the ELF loader maps a bss: anonymous memory over [addr, addr+len)
// (whatever was there is unmapped first), merged into an adjacent anonymous VMA below when
// they are compatible.
Result<void> AddressSpace::vm_brk_flags(uint64_t addr, uint64_t len, uint64_t extra_flags,
                                        const TaskLimits &lim) {
  len = page_align(len);
  if (len < page_size && len) return fail(Errno::nomem);  // wrapped
  if (!len) return {};
  VMS_TRY(check_fixed_range(addr, len, lim));
  if ((def_flags & vm::locked) && !lim.cap_ipc_lock &&
      pages(len) + locked_vm > (lim.rlimit_memlock >> page_shift))
    return fail(Errno::again);
  if (Vma *old = vmas.tree.find(addr); old && old->start < addr + len) {
    UnmapPlan plan;
    Result<void> g = gather_unmap(addr, addr + len, old, plan);
    if (!g) return fail(g.error());
    complete_unmap(plan);
  }
  const uint64_t flags = vm::read | vm::write | vm::mayread | vm::maywrite | vm::mayexec |
                         vm::account | def_flags | extra_flags;
  if (!may_expand_vm(flags, pages(len), lim)) return fail(Errno::nomem);
  if (static_cast<uint64_t>(vmas.map_count()) > cfg.max_map_count) return fail(Errno::nomem);
  if (!vm_enough_memory(pages(len), lim)) return fail(Errno::nomem);
  Vma *next = vmas.tree.find(addr);
  Vma *prev = next ? VmaTree::prev(next) : vmas.tree.last();
  Vma *v = nullptr;
  if (prev && prev->end == addr) {
    VmaProposal p;
    p.start = addr;
    p.end = addr + len;
    p.pgoff = addr >> page_shift;
    p.flags = flags;
    v = vmas.merge_new(p, prev, nullptr, /*just_expand=*/true);
  }
  if (!v) {
    Vma proto;
    proto.start = addr;
    proto.end = addr + len;
    proto.flags = flags;
    proto.pgoff = addr >> page_shift;
    v = vmas.alloc(proto);
    vmas.link(v);
  }
  vm_stat_account(flags, static_cast<int64_t>(pages(len)));
  if (flags & vm::locked) locked_vm += pages(len);
  if (def_flags & vm::locked) populate(addr, len);
  return {};
}

}  // namespace vmspace
