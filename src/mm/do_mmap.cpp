// mmap's core (Linux: mm/mmap.c do_mmap): checks in Linux's order, the VMA flags, then
// AddressSpace::map_region. The system call's front end (src/sys/mmap.cpp) and execve's ELF
// loader (src/sys/exec.cpp) come here with the file already resolved.
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
uint64_t calc_vm_prot_bits(uint64_t prot) {
  return ((prot & lx::prot_read) ? vm::read : 0) | ((prot & lx::prot_write) ? vm::write : 0) |
         ((prot & lx::prot_exec) ? vm::exec : 0);
}

uint64_t calc_vm_flag_bits(uint64_t flags) {
  return ((flags & lx::map_growsdown) ? vm::growsdown : 0) |
         ((flags & lx::map_locked) ? vm::locked : 0) | ((flags & lx::map_sync) ? vm::sync : 0) |
         ((flags & lx::map_stack) ? vm::nohugepage : 0);
}

// Linux: file_mmap_ok. Regular files, block devices and sockets are limited to
// MAX_LFS_FILESIZE; other files to ULONG_MAX.
bool file_mmap_ok(const Inode &in, uint64_t pgoff, uint64_t len, unsigned shift) {
  uint64_t maxsize = ~0ull;
  if (in.kind() == InodeKind::regular || in.kind() == InodeKind::blockdev ||
      in.kind() == InodeKind::socket || in.kind() == InodeKind::shmem ||
      in.kind() == InodeKind::hugetlb)
    maxsize = 0x7fffffffffffffffull;
  if (len > maxsize) return false;
  maxsize -= len;
  return pgoff <= (maxsize >> shift);
}
}  // namespace

Result<uint64_t> AddressSpace::do_mmap(const MmapRequest &r, const TaskLimits &lim) {
  AddressSpace &mm = *this;
  const Ref<OpenFile> &file = r.file;
  uint64_t addr = r.addr, len = r.len, flags = r.flags, pgoff = r.pgoff;
  const uint64_t prot = r.prot;
  const uint64_t P = mm.page_size;
  if (!len) return fail(Errno::inval);
  if (flags & lx::map_fixed_noreplace) flags |= lx::map_fixed;
  if (!(flags & lx::map_fixed)) {
    // round_hint_to_min
    addr &= ~(P - 1);
    if (addr && addr < mm.mmap_min_addr()) addr = mm.page_align(mm.mmap_min_addr());
  }
  len = mm.page_align(len);
  if (!len) return fail(Errno::nomem);
  if (pgoff + (len >> mm.page_shift) < pgoff) return fail(Errno::overflow);
  if (static_cast<uint64_t>(mm.vmas.map_count()) > cfg.max_map_count) return fail(Errno::nomem);

  uint64_t vm_flags = calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | mm.def_flags |
                      vm::mayread | vm::maywrite | vm::mayexec;
  Result<uint64_t> area = mm.get_unmapped_area(file.get(), addr, len, pgoff, flags, vm_flags);
  if (!area) return area;
  addr = *area;
  // security_mmap_addr: below vm.mmap_min_addr needs CAP_SYS_RAWIO.
  if (addr < cfg.mmap_min_addr && !lim.cap_sys_rawio) return fail(Errno::perm);

  if (flags & lx::map_fixed_noreplace) {
    if (mm.vmas.tree.find_intersection(addr, addr + len)) return fail(Errno::exist);
  }
  // can_do_mlock
  if ((flags & lx::map_locked) && lim.rlimit_memlock == 0 && !lim.cap_ipc_lock)
    return fail(Errno::perm);
  // mlock_future_ok
  if ((vm_flags & vm::locked) && !lim.cap_ipc_lock &&
      (len >> mm.page_shift) + mm.locked_vm > (lim.rlimit_memlock >> mm.page_shift))
    return fail(Errno::again);

  if (file) {
    const Inode &in = *file->inode();
    if (!file_mmap_ok(in, pgoff, len, mm.page_shift)) return fail(Errno::overflow);
    uint64_t flags_mask = lx::legacy_map_mask;
    if (in.supports_map_sync_flag()) flags_mask |= lx::map_sync;
    switch (flags & lx::map_type) {
      case lx::map_shared:
        // Plain MAP_SHARED silently drops flags it does not know.
        flags &= lx::legacy_map_mask;
        [[fallthrough]];
      case lx::map_shared_validate:
        if (flags & ~flags_mask) return fail(Errno::notsup);
        if ((prot & lx::prot_write) && !file->writable()) return fail(Errno::acces);
        if (in.append_only() && file->writable()) return fail(Errno::acces);
        vm_flags |= vm::shared | vm::mayshare;
        if (!file->writable()) vm_flags &= ~(vm::maywrite | vm::shared);
        [[fallthrough]];
      case lx::map_private:
        if (!file->readable()) return fail(Errno::acces);
        if (in.noexec_mount()) {
          if (vm_flags & vm::exec) return fail(Errno::perm);
          vm_flags &= ~vm::mayexec;
        }
        if (in.area_policy() == AreaPolicy::none) return fail(Errno::nodev);
        if (vm_flags & vm::growsdown) return fail(Errno::inval);
        break;
      default:
        return fail(Errno::inval);
    }
  } else {
    switch (flags & lx::map_type) {
      case lx::map_shared:
        if (vm_flags & vm::growsdown) return fail(Errno::inval);
        pgoff = 0;
        vm_flags |= vm::shared | vm::mayshare;
        break;
      case lx::map_droppable:
        if (flags & (lx::map_locked | lx::map_hugetlb)) return fail(Errno::inval);
        if (vm_flags & vm::growsdown) return fail(Errno::inval);
        vm_flags |= vm::droppable | vm::noreserve | vm::wipeonfork | vm::dontdump;
        [[fallthrough]];
      case lx::map_private:
        pgoff = addr >> mm.page_shift;
        break;
      default:
        return fail(Errno::inval);
    }
  }
  if (flags & lx::map_noreserve) {
    if (cfg.overcommit_memory != 2) vm_flags |= vm::noreserve;
    if (file && file->inode()->kind() == InodeKind::hugetlb) vm_flags |= vm::noreserve;
  }

  MapRequest req;
  req.addr = addr;
  req.len = len;
  req.flags = vm_flags;
  req.pgoff = pgoff;
  req.file = file;
  req.populate = (vm_flags & vm::locked) ||
                 (flags & (lx::map_populate | lx::map_nonblock)) == lx::map_populate;
  return mm.map_region(req, lim);
}

}  // namespace vmspace
