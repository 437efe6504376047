// madvise (Linux: mm/madvise.c do_madvise, madvise_walk_vmas,
// madvise_vma_behavior, madvise_update_vma, madvise_populate; mm/ksm.c
// ksm_madvise; mm/khugepaged.c hugepage_madvise) and the naming of anonymous
// memory that shares its walk.
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace madv {
// Internal: naming goes through the same walk (Linux: __MADV_SET_ANON_VMA_NAME).
constexpr int set_name = 0x10000;
}  // namespace madv

namespace {

bool valid_advice(int b) {
  switch (b) {
    case lx::madv_dofork:
    case lx::madv_dontfork:
    case lx::madv_normal:
    case lx::madv_sequential:
    case lx::madv_random:
    case lx::madv_remove:
    case lx::madv_willneed:
    case lx::madv_dontneed:
    case lx::madv_dontneed_locked:
    case lx::madv_free:
    case lx::madv_cold:
    case lx::madv_pageout:
    case lx::madv_populate_read:
    case lx::madv_populate_write:
    case lx::madv_mergeable:
    case lx::madv_unmergeable:
    case lx::madv_hugepage:
    case lx::madv_nohugepage:
    case lx::madv_collapse:
    case lx::madv_dontdump:
    case lx::madv_dodump:
    case lx::madv_wipeonfork:
    case lx::madv_keeponfork:
    case lx::madv_guard_install:
    case lx::madv_guard_remove:
      return true;
    default:
      // MADV_HWPOISON and MADV_SOFT_OFFLINE need CONFIG_MEMORY_FAILURE, off on
      // the reference kernel: they are unknown advice there.
      return false;
  }
}

// Advice that may discard data, refused on sealed read-only anonymous memory.
bool is_discard(int b) {
  return b == lx::madv_free || b == lx::madv_dontneed || b == lx::madv_dontneed_locked ||
         b == lx::madv_remove || b == lx::madv_dontfork || b == lx::madv_wipeonfork ||
         b == lx::madv_guard_install;
}

const Inode *inode_of(const Vma &v) {
  if (!v.file) return nullptr;
  return static_cast<const OpenFile *>(v.file.get())->inode().get();
}

// Linux: vma_ksm_compatible.
bool ksm_compatible(const Vma &v) {
  const uint64_t bad = vm::shared | vm::mayshare | vm::pfnmap | vm::io | vm::dontexpand |
                       vm::hugetlb | vm::mixedmap | vm::droppable;
  return !(v.flags & bad);
}

}  // namespace

// Applies one advice to [start, end) of v; *res is the VMA covering the range
// afterwards.
static Result<void> visit(AddressSpace &mm, Vma *v, uint64_t start, uint64_t end, int b,
                          AnonName *name, Vma **res) {
  *res = v;
  // Linux: can_madvise_modify (mseal). Only anonymous memory in the kernel's sense (no
  // operations: a private /dev/zero mapping is, a sealed [vvar_vclock] is not and takes
  // MADV_DONTFORK; both observed on 6.18) is protected.
  if ((v->flags & vm::sealed) && is_discard(b) && v->is_anonymous() &&
      v->special == Special::none && !(v->flags & vm::shared) && !(v->flags & vm::write))
    return fail(Errno::perm);

  uint64_t f = v->flags;
  switch (b) {
    case lx::madv_remove: {
      if (f & vm::locked) return fail(Errno::inval);
      if (!v->file || v->special != Special::none) return fail(Errno::inval);
      if ((f & (vm::shared | vm::maywrite)) != (vm::shared | vm::maywrite))
        return fail(Errno::acces);
      // vfs_fallocate(PUNCH_HOLE | KEEP_SIZE) at the file offset, a loff_t: negative is
      // EINVAL, an end past the file system's s_maxbytes EFBIG (ext4: 16 TiB - 4 KiB).
      const uint64_t off = (v->pgoff << mm.page_shift) + (start - v->start);
      const Inode *in = inode_of(*v);
      const uint64_t max = in ? static_cast<uint64_t>(in->max_bytes()) : INT64_MAX;
      if (off >> 63) return fail(Errno::inval);
      if (off + (end - start) > max) return fail(Errno::fbig);
      // Punch the hole: the file's pages there become zeros for every mapping.
      mm.zap(start, end);
      if (v->vm_ops) {
        const OpenFile *of = static_cast<const OpenFile *>(v->file.get());
        const uint64_t p0 = v->pgoff + ((start - v->start) >> mm.page_shift);
        const uint64_t p1 = v->pgoff + ((end - 1 - v->start) >> mm.page_shift);
        of->punch_hole(p0, p1);
      }
      return {};
    }
    case lx::madv_willneed:
      return {};
    case lx::madv_cold:
    case lx::madv_pageout:
      if (f & (vm::locked | vm::pfnmap | vm::hugetlb)) return fail(Errno::inval);
      mm.lru_drain();
      if (b == lx::madv_pageout) mm.pageout(v, start, end);
      return {};
    case lx::madv_free:
    case lx::madv_dontneed:
    case lx::madv_dontneed_locked: {
      if (!(f & vm::hugetlb)) {
        uint64_t forbidden = vm::pfnmap;
        if (b != lx::madv_dontneed_locked) forbidden |= vm::locked;
        if (f & forbidden) return fail(Errno::inval);
      } else {
        if (b == lx::madv_free) return fail(Errno::inval);
        const Inode *in = inode_of(*v);
        uint64_t h = in ? in->huge_page_size() : (2ull << 20);
        if (start & (h - 1)) return fail(Errno::inval);
      }
      if (b == lx::madv_free && !v->is_anonymous()) return fail(Errno::inval);
      // DONTNEED drops the pages: anonymous memory reads zeros again, a private file mapping
      // the file. FREE makes them clean, old and lazy-free: the kernel would drop them only
      // under memory pressure, which vmspace does not model, so the contents stay.
      if (b != lx::madv_free) {
        mm.zap(start, end, /*keep_guards=*/true, /*reclaim_tables=*/true);
      } else {
        mm.lru_drain();
        mm.lazy_free(start, end);
      }
      return {};
    }
    case lx::madv_collapse: {
      // Linux: madvise_collapse. First whether THP may back the VMA at all
      // (thp_vma_allowable_order with a forced collapse): not NOHUGEPAGE, not
      // special or hugetlb, room for one aligned PMD below vm_end (file
      // offsets aligned too), and anonymous memory with an anon_vma or shmem
      // (whose huge setting a forced collapse overrides). Regular files need
      // CONFIG_READ_ONLY_THP_FOR_FS, off on the reference kernel.
      const uint64_t pmd = 2ull << 20, pmd_pages = pmd >> mm.page_shift;
      if (f & (vm::special | vm::hugetlb | vm::nohugepage)) return fail(Errno::inval);
      const Inode *in = inode_of(*v);
      const bool anon = v->is_anonymous();
      if (!anon && (!in || in->kind() != InodeKind::shmem)) return fail(Errno::inval);
      if (!anon && (((v->start >> mm.page_shift) - v->pgoff) & (pmd_pages - 1)))
        return fail(Errno::inval);
      if (v->end - v->start < pmd || ((v->end - pmd) & ~(pmd - 1)) < v->start)
        return fail(Errno::inval);
      if (anon && !v->anon) return fail(Errno::inval);
      // Then each whole PMD of the range is collapsed; a range that holds
      // none succeeds when its rounded ends meet and fails when they cross.
      const uint64_t hstart = (start + pmd - 1) & ~(pmd - 1), hend = end & ~(pmd - 1);
      if (hstart > hend) return fail(Errno::inval);
      if (hstart == hend) return {};
      // Shared memory's pages are not collapsed by vmspace: as a PMD without
      // pages (SCAN_PMD_NULL).
      if (!anon) return fail(Errno::inval);
      // Each window in turn; a window that fails leaves the others collapsed
      // and the call fails with the last failure (madvise_collapse_errno).
      Errno last = Errno::none;
      for (uint64_t h = hstart; h < hend; h += pmd) {
        const Errno e = mm.collapse_window(v, h);
        if (e != Errno::none) last = e;
      }
      if (last != Errno::none) return fail(last);
      return {};
    }
    case lx::madv_guard_install:
      if (f & (vm::special | vm::hugetlb | vm::locked)) return fail(Errno::inval);
      // Guard markers live in page tables: the VMA needs an anon_vma, and is
      // marked (without a split) as possibly holding guards.
      mm.anon_vma_prepare(v);
      v->flags |= vm::maybe_guard;
      try {
        mm.install_guards(start, end);  // the pages there go, markers take their place
      } catch (const std::bad_alloc &) {
        return fail(Errno::nomem);
      }
      return {};
    case lx::madv_guard_remove:
      if (f & (vm::special | vm::hugetlb)) return fail(Errno::inval);
      mm.remove_guards(start, end);
      return {};
    case lx::madv_normal:
      f &= ~(vm::rand_read | vm::seq_read);
      break;
    case lx::madv_sequential:
      f = (f & ~vm::rand_read) | vm::seq_read;
      break;
    case lx::madv_random:
      f = (f & ~vm::seq_read) | vm::rand_read;
      break;
    case lx::madv_dontfork:
      f |= vm::dontcopy;
      break;
    case lx::madv_dofork:
      if (f & vm::io) return fail(Errno::inval);
      f &= ~vm::dontcopy;
      break;
    case lx::madv_wipeonfork:
      if (v->file || (f & vm::shared)) return fail(Errno::inval);
      f |= vm::wipeonfork;
      break;
    case lx::madv_keeponfork:
      if (f & vm::droppable) return fail(Errno::inval);
      f &= ~vm::wipeonfork;
      break;
    case lx::madv_dontdump:
      f |= vm::dontdump;
      break;
    case lx::madv_dodump:
      if ((!(f & vm::hugetlb) && (f & vm::special)) || (f & vm::droppable))
        return fail(Errno::inval);
      f &= ~vm::dontdump;
      break;
    case lx::madv_mergeable:
      if (!(f & vm::mergeable) && ksm_compatible(*v)) f |= vm::mergeable;
      break;
    case lx::madv_unmergeable:
      f &= ~vm::mergeable;
      break;
    case lx::madv_hugepage:
      f = (f & ~vm::nohugepage) | vm::hugepage;
      break;
    case lx::madv_nohugepage:
      f = (f & ~vm::hugepage) | vm::nohugepage;
      break;
    case madv::set_name: {
      // Only anonymous memory (private or shared) can be named.
      const Inode *in = inode_of(*v);
      bool anon_shmem =
          in && in->kind() == InodeKind::shmem && in->own_path() == "/dev/zero (deleted)";
      if (v->file && !anon_shmem) return fail(Errno::badf);
      break;
    }
  }
  // Linux: madvise_update_vma.
  AnonName *new_name = b == madv::set_name ? name : v->anon_name.get();
  const AnonName *old_name = v->anon_name.get();
  bool same_name =
      old_name == new_name || (old_name && new_name && old_name->name == new_name->name);
  if (f == v->flags && same_name) return {};
  VmaProposal p = mm.vmas.proposal_of(*v, start, end);
  p.flags = f;
  p.anon_name = new_name;
  Result<void> m = mm.vmas.modify(p, v, static_cast<int>(mm.cfg.max_map_count), res);
  if (!m) return fail(m.error() == Errno::nomem ? Errno::again : m.error());
  (*res)->flags = f | ((*res)->flags & vm::sticky);  // a merge may have brought sticky flags
  (*res)->anon_name = Ref<AnonName>(new_name);
  return {};
}

// Linux: madvise_walk_vmas. Holes are skipped but reported as ENOMEM at the
// end.
static Result<void> walk(AddressSpace &mm, uint64_t start, uint64_t end, int b, AnonName *name) {
  Errno unmapped = Errno::none;
  Vma *v = mm.vmas.tree.find(start);
  for (;;) {
    if (!v) return fail(Errno::nomem);
    if (start < v->start) {
      unmapped = Errno::nomem;
      start = v->start;
      if (start >= end) break;
    }
    uint64_t tmp = v->end < end ? v->end : end;
    Vma *res = v;
    VMS_TRY(visit(mm, v, start, tmp, b, name, &res));
    start = tmp;
    if (start < res->end) start = res->end;
    if (start >= end) break;
    v = mm.vmas.tree.find(res->end);
  }
  return fail(unmapped);
}

// Linux: madvise_populate / faultin_page_range.
static Result<void> madvise_populate(AddressSpace &mm, uint64_t start, uint64_t end, bool write) {
  while (start < end) {
    Vma *v = mm.vmas.tree.find(start);
    if (!v || v->start > start) return fail(Errno::nomem);
    if (v->flags & (vm::io | vm::pfnmap)) return fail(Errno::inval);
    if (write && !(v->flags & vm::write)) return fail(Errno::inval);
    if (!write && !(v->flags & vm::read)) return fail(Errno::inval);
    uint64_t tmp = v->end < end ? v->end : end;
    if (write && !(v->flags & vm::shared) && !(v->flags & vm::hugetlb)) mm.anon_vma_prepare(v);
    VMS_TRY(mm.populate_pages(v, start, tmp, write));  // SIGBUS, guard markers: EFAULT
    start = tmp;
  }
  return {};
}

Result<void> AddressSpace::madvise(uint64_t start, uint64_t len_in, int b, const TaskLimits &lim) {
  (void)lim;
  if (!valid_advice(b)) return fail(Errno::inval);
  if (!page_aligned(start)) return fail(Errno::inval);
  uint64_t len = page_align(len_in);
  if (len_in && !len) return fail(Errno::inval);
  if (start + len < start) return fail(Errno::inval);
  if (start + len == start) return {};
  uint64_t end = start + len;
  if (b == lx::madv_populate_read || b == lx::madv_populate_write)
    return madvise_populate(*this, start, end, b == lx::madv_populate_write);
  return walk(*this, start, end, b, nullptr);
}

Result<void> AddressSpace::set_anon_name(uint64_t start, uint64_t len_in, AnonName *name) {
  if (!page_aligned(start)) return fail(Errno::inval);
  uint64_t len = page_align(len_in);
  if (len_in && !len) return fail(Errno::inval);
  uint64_t end = start + len;
  if (end < start) return fail(Errno::inval);
  if (end == start) return {};
  return walk(*this, start, end, madv::set_name, name);
}

}  // namespace vmspace
