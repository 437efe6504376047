// User faults at the VMA level (Linux: arch/x86/mm/fault.c do_user_addr_fault and
// access_error; mm/mmap.c expand_downwards; the anon_vma part of mm/memory.c).
#include <algorithm>
#include <mutex>

#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
constexpr int kSigbus = lx::sigbus, kSigsegv = lx::sigsegv;
constexpr int kSegvMaperr = lx::segv_maperr, kSegvAccerr = lx::segv_accerr,
              kBusAdrerr = lx::bus_adrerr;
}  // namespace

Result<void> AddressSpace::expand_downwards(Vma *v, uint64_t addr, const TaskLimits &lim) {
  addr &= ~(page_size - 1);
  if (addr < mmap_min_addr()) return fail(Errno::perm);
  // Keep the guard gap to an accessible mapping below.
  Vma *prev = VmaTree::prev(v);
  if (prev && !(prev->flags & vm::growsdown) && (prev->flags & vm::access_flags) &&
      addr - prev->end < stack_guard_gap())
    return fail(Errno::nomem);
  // Linux prepares the anon_vma before it checks the limits.
  anon_vma_prepare(v);
  uint64_t size = v->end - addr;
  uint64_t grow = pages(v->start - addr);
  // Linux: acct_stack_growth.
  if (!may_expand_vm(v->flags, grow, lim)) return fail(Errno::nomem);
  if (size > lim.rlimit_stack) return fail(Errno::nomem);
  if ((v->flags & vm::locked) && !lim.cap_ipc_lock &&
      locked_vm + grow > (lim.rlimit_memlock >> page_shift))
    return fail(Errno::nomem);
  if ((v->flags & vm::account) && !vm_enough_memory(grow, lim)) return fail(Errno::nomem);
  if (v->flags & vm::locked) locked_vm += grow;
  vm_stat_account(v->flags, static_cast<int64_t>(grow));
  v->pgoff -= grow;
  const uint64_t old_start = v->start;
  vmas.tree.set_range(v, addr, v->end);
  update_hiwater();
  notify(LayoutChange::mapped, addr, old_start, prot_of(v->flags));
  return {};
}

Fault AddressSpace::fault(uint64_t addr, bool write, bool exec, const TaskLimits &lim) {
  Fault f;
  f.addr = addr;
  f.signal = kSigsegv;
  f.code = kSegvMaperr;
  // A non-canonical address is a general protection fault: SI_KERNEL, no address.
  if (addr >= (1ull << 47) && addr < 0xffff800000000000ull) {
    f.code = lx::si_kernel;
    f.addr = 0;
    return f;
  }
  if (addr >= task_size) return f;
  Vma *v = vmas.tree.find(addr);
  if (!v) return f;
  if (v->start > addr) {
    if (!(v->flags & vm::growsdown) || !expand_downwards(v, addr, lim)) return f;
  }
  // access_error (x86, no protection keys): writes need VM_WRITE, instruction fetches
  // VM_EXEC, and anything needs some access.
  f.code = kSegvAccerr;
  if (write && !(v->flags & vm::write)) return f;
  if (exec && !(v->flags & vm::exec)) return f;
  if (!(v->flags & vm::access_flags)) return f;
  // A private write gets anonymous memory (the COW copy comes before the file is read).
  bool private_write = write && !(v->flags & vm::shared);
  if (private_write && !(v->flags & vm::hugetlb)) anon_vma_prepare(v);
  // A guard marker: SIGSEGV (SEGV_MAPERR, observed on 6.18).
  if (pt.get(addr >> page_shift) & pte::guard) {
    f.code = kSegvMaperr;
    return f;
  }
  // Beyond the end of a file, or a huge page the pool cannot give: SIGBUS (a private copy
  // made before the file shrank stays, as truncation leaves COW copies mapped).
  const bool copied =
      (pt.get(addr >> page_shift) & (pte::present | pte::anon)) == (pte::present | pte::anon);
  if (!copied && !backed(v, addr & ~(page_size - 1), (addr & ~(page_size - 1)) + page_size)) {
    if (!write) fault_around_past_eof(v, addr);
    f.signal = kSigbus;
    f.code = kBusAdrerr;
    return f;
  }
  f.signal = 0;
  f.code = 0;
  return f;
}

}  // namespace vmspace
