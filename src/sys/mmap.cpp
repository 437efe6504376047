// mmap(2), munmap(2) and mprotect(2) front ends (Linux: arch/x86/kernel/sys_x86_64.c
// sys_mmap, mm/util.c ksys_mmap_pgoff and vm_mmap_pgoff): decode, look the descriptor up,
// and hand the request to AddressSpace::do_mmap.
#include <mutex>

#include "file/fd_table.hpp"
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

Result<uint64_t> Task::mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
                            uint64_t offset) {
  AddressSpace &mm = *mm_;
  MmWriteLock lock(mm);
  VMS_TRY(mm.prepare_change());
  const MmSettings &cfg = mm.cfg;
  const TaskLimits lim = task_limits(*this);
  const uint64_t P = mm.page_size;

  // sys_mmap
  if (offset & (P - 1)) return fail(Errno::inval);
  uint64_t pgoff = offset >> mm.page_shift;

  // ksys_mmap_pgoff
  Ref<OpenFile> file;
  if (!(flags & lx::map_anonymous)) {
    Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
    if (!f || f->is_path()) return fail(Errno::badf);
    file = f;
    if (f->inode()->kind() == InodeKind::hugetlb) {
      uint64_t h = f->inode()->huge_page_size();
      len = (len + h - 1) & ~(h - 1);
    } else if (flags & lx::map_hugetlb) {
      return fail(Errno::inval);
    }
  } else if (flags & lx::map_hugetlb) {
    uint64_t log = (flags >> lx::map_huge_shift) & lx::map_huge_mask;
    uint64_t h;
    if (log == 0 || log == 21)
      h = 2ull << 20;
    else if (log == 30 && cfg.gigantic_pages)
      h = 1ull << 30;
    else
      return fail(Errno::inval);
    len = (len + h - 1) & ~(h - 1);
    Ref<Inode> in = mm.ctx.inodes.hugetlb("/anon_hugepage (deleted)", len, h);
    file = make_ref<OpenFile>(std::move(in), lx::o_rdwr, -1);
  }

  MmapRequest req;
  req.addr = addr;
  req.len = len;
  req.prot = prot;
  req.flags = flags;
  req.pgoff = pgoff;
  req.file = std::move(file);
  return mm.do_mmap(req, lim);
}

Result<void> Task::munmap(uint64_t addr, uint64_t len) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->munmap(addr, len);
}

Result<void> Task::mprotect(uint64_t addr, uint64_t len, uint64_t prot) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->mprotect(addr, len, prot, task_limits(*this));
}

}  // namespace vmspace
