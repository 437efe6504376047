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
    f.signal = kSigbus;
    f.code = kBusAdrerr;
    return f;
  }
  f.signal = 0;
  f.code = 0;
  return f;
}

uint64_t AddressSpace::same_fault_end(uint64_t addr) const {
  const Vma *v = vmas.tree.find(addr);
  if (!v || v->start > addr) return (addr | (page_size - 1)) + 1;
  uint64_t end = v->end;
  if (v->file && v->vm_ops && v->special == Special::none) {
    // backed(): the pages from the one past the file's end on raise SIGBUS.
    const Inode &in = *static_cast<const OpenFile *>(v->file.get())->inode();
    if (in.kind() == InodeKind::regular || in.kind() == InodeKind::shmem ||
        in.kind() == InodeKind::hugetlb) {
      const uint64_t size_pages = (in.size() + page_size - 1) >> page_shift;
      if (size_pages > v->pgoff) {
        const uint64_t eof_pages = size_pages - v->pgoff;
        if (eof_pages < ((v->end - v->start) >> page_shift))
          end = std::min(end, v->start + (eof_pages << page_shift));
      }
    }
  }
  return end;
}

Fault AddressSpace::access(uint64_t addr, uint64_t len, bool write, bool exec,
                           const TaskLimits &lim) {
  if (len == 0) return Fault{};
  // An access that would wrap past the top of the address space runs to the top.
  const uint64_t last = addr + (len - 1) < addr ? ~0ull : addr + (len - 1);
  for (uint64_t a = addr;;) {
    Fault f = fault(a, write, exec, lim);
    if (f) return f;
    const uint64_t next = same_fault_end(a);
    if (next == 0 || next - 1 >= last) break;
    a = next;
  }
  return Fault{};
}

}  // namespace vmspace
