// Creating a mapping (Linux: mm/vma.c mmap_region, __mmap_region, __mmap_setup,
// __mmap_new_vma, __mmap_complete).
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
// Private writable mappings are charged against overcommit (Linux: accountable_mapping).
bool accountable(const OpenFile *file, uint64_t f) {
  if (file && file->inode()->kind() == InodeKind::hugetlb) return false;
  return (f & (vm::noreserve | vm::shared | vm::write)) == vm::write;
}
}  // namespace

Result<uint64_t> AddressSpace::map_region(MapRequest &r, const TaskLimits &lim) {
  const uint64_t addr = r.addr, end = r.addr + r.len, pglen = pages(r.len);
  uint64_t flags = r.flags;
  OpenFile *file = r.file.get();

  // Collect what the new mapping replaces, splitting at its edges.
  UnmapPlan plan;
  Vma *prev, *next;
  Vma *first = vmas.tree.find(addr);
  if (first && first->start < end) {
    VMS_TRY(gather_unmap(addr, end, first, plan));
    prev = plan.prev;
    next = plan.next;
  } else {
    next = first;
    prev = first ? VmaTree::prev(first) : vmas.tree.last();
  }

  // Limits. Failing here leaves the splits above in place, as Linux does.
  if (!may_expand_vm(flags, pglen - plan.nr_pages, lim)) return fail(Errno::nomem);
  uint64_t charged = 0;
  if (accountable(file, flags)) {
    charged = pglen - plan.nr_accounted;
    if (charged && !vm_enough_memory(charged, lim)) return fail(Errno::nomem);
    plan.nr_accounted = 0;
    flags |= vm::account;
  }

  // The file's mmap hook. When it fails after the old mappings were torn down, Linux leaves
  // a hole where the MAP_FIXED mapping was to go (vms_abort_munmap_vmas).
  Errno hook = Errno::none;
  bool vm_ops = file != nullptr;
  uint64_t reserve_huge = 0;
  if (file) {
    const Inode &in = *file->inode();
    if (in.kind() == InodeKind::hugetlb) {
      uint64_t h = in.huge_page_size();
      flags |= vm::hugetlb | vm::dontexpand;
      if (r.pgoff & ((h >> page_shift) - 1)) {
        hook = Errno::inval;
      } else if (!(flags & vm::noreserve)) {
        reserve_huge = r.len / h;
        if (!ctx.inodes.reserve_huge(h, reserve_huge)) {
          hook = Errno::nomem;
          reserve_huge = 0;
        }
      }
    } else if (in.rejects_map_sync() && (flags & vm::sync)) {
      hook = Errno::notsup;
    } else if (in.is_dev_zero() && !(flags & vm::shared)) {
      vm_ops = false;  // private /dev/zero is anonymous memory (vma_set_anonymous)
    }
  }
  // Shared anonymous memory is a new shmem object, charged as a whole unless VM_NORESERVE
  // (Linux: shmem_zero_setup -> shmem_acct_size).
  const bool shmem_zero = (flags & vm::shared) && (!file || file->inode()->is_dev_zero());
  if (hook == Errno::none && shmem_zero && !(flags & vm::noreserve)) {
    if (!vm_enough_memory(pglen, lim))
      hook = Errno::nomem;
    else
      vm_unacct_memory(pglen);  // the object's charge is not tracked further
  }
  if (hook != Errno::none) {
    if (charged) vm_unacct_memory(charged);
    if (!plan.vmas.empty()) complete_unmap(plan);
    return fail(hook);
  }
  if (reserve_huge) file->inode()->add_huge_reserved(reserve_huge);
  // hugetlbfs_file_mmap: a writable mapping grows the file to cover it.
  if ((flags & vm::hugetlb) && (flags & vm::write)) {
    Inode &in = *file->inode();
    const uint64_t need = r.len + (r.pgoff << page_shift);
    if (in.size() < need) in.set_own_size(need);
  }

  if (!plan.vmas.empty()) complete_unmap(plan);

  // Shared anonymous memory (and MAP_SHARED of /dev/zero) is backed by a new shmem object.
  VmaProposal p;
  p.start = addr;
  p.end = end;
  p.pgoff = r.pgoff;
  p.flags = flags;
  p.file = file;
  p.special = r.special;
  Vma *v = nullptr;
  // Merge first; a shmem-backed or special VMA never merges.
  if ((prev || next) && !shmem_zero && r.special == Special::none && !(flags & vm::hugetlb))
    v = vmas.merge_new(p, prev, next);
  if (!v) {
    Vma proto;
    proto.start = addr;
    proto.end = end;
    proto.pgoff = r.pgoff;
    proto.flags = flags;
    proto.file = r.file;
    proto.vm_ops = vm_ops;
    proto.special = r.special;
    if (shmem_zero) {
      Ref<Inode> in = ctx.inodes.shmem("/dev/zero (deleted)", r.len);
      proto.file = make_ref<OpenFile>(std::move(in), lx::o_rdwr, -1);
      proto.vm_ops = true;
    }
    if (r.special != Special::none) proto.vm_ops = true;
    v = vmas.alloc(proto);
    vmas.link(v);
  }

  // Linux: __mmap_complete.
  vm_stat_account(v->flags, static_cast<int64_t>(pglen));
  if (v->flags & vm::locked) {
    if ((v->flags & vm::special) || (v->flags & vm::hugetlb) || (v->flags & vm::droppable))
      v->flags &= ~vm::locked_mask;
    else
      locked_vm += pglen;
  }
  update_hiwater();
  if (r.populate) populate(addr, r.len);
  notify(LayoutChange::mapped, addr, addr + r.len, prot_of(r.flags));
  return addr;
}

}  // namespace vmspace
