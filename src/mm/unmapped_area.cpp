// Address selection (Linux: mm/mmap.c __get_unmapped_area, unmapped_area(_topdown);
// arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area(_topdown); mm/huge_memory.c
// __thp_get_unmapped_area; fs/hugetlbfs hugetlb_get_unmapped_area; mm/shmem.c).
//
// With ASLR off the result is a pure function of the VMA layout, mmap_base and the request;
// the gap searches are O(log n) thanks to VmaTree's augmentation.
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

Result<uint64_t> AddressSpace::vm_unmapped_area(bool down, uint64_t len, uint64_t low,
                                                uint64_t high, uint64_t align_mask,
                                                uint64_t align_offset, uint64_t start_gap) {
  // Search for worst-case alignment overhead, as Linux does.
  uint64_t length = len + align_mask + start_gap;
  if (length < len) return fail(Errno::nomem);
  uint64_t low_limit = low < mmap_min_addr() ? mmap_min_addr() : low;
  uint64_t high_limit = high;
  uint64_t gs, ge;
  if (down) {
    for (;;) {
      if (!vmas.tree.area_highest(low_limit, high_limit, length, &gs, &ge))
        return fail(Errno::nomem);
      uint64_t gap = ge - len;
      gap -= (gap - align_offset) & align_mask;
      // A stack above keeps its guard gap free.
      Vma *next = vmas.tree.find(ge);
      if (next && (next->flags & vm::growsdown) && vm_start_gap(*next) < ge) {
        high_limit = vm_start_gap(*next);
        continue;
      }
      return gap;
    }
  }
  for (;;) {
    if (!vmas.tree.area_lowest(low_limit, high_limit, length, &gs, &ge)) return fail(Errno::nomem);
    uint64_t gap = gs + start_gap;
    gap += (align_offset - gap) & align_mask;
    Vma *next = vmas.tree.find(gs);
    if (next && (next->flags & vm::growsdown) && vm_start_gap(*next) < gap + length - 1) {
      low_limit = next->end;
      continue;
    }
    return gap;
  }
}

// Linux: arch_get_unmapped_area (bottom-up, also the MAP_32BIT path).
Result<uint64_t> AddressSpace::arch_get_unmapped_area(uint64_t addr, uint64_t len, uint64_t pgoff,
                                                      uint64_t flags, uint64_t align_mask) {
  if (flags & lx::map_fixed) return addr;
  uint64_t begin, end;
  if (flags & lx::map_32bit) {
    begin = 0x40000000;
    end = 0x80000000;
  } else {
    begin = mmap_legacy_base;
    end = task_size;
  }
  if (len > end) return fail(Errno::nomem);
  if (addr) {
    addr = page_align(addr);
    Vma *v = vmas.tree.find(addr);
    if (end - len >= addr && (!v || addr + len <= vm_start_gap(*v))) return addr;
  }
  return vm_unmapped_area(false, len, begin, end, align_mask, pgoff << page_shift, 0);
}

// Linux: arch_get_unmapped_area_topdown.
Result<uint64_t> AddressSpace::arch_get_unmapped_area_topdown(uint64_t addr0, uint64_t len,
                                                              uint64_t pgoff, uint64_t flags,
                                                              uint64_t align_mask) {
  if (len > task_size) return fail(Errno::nomem);
  if (flags & lx::map_fixed) return addr0;
  if (!(flags & lx::map_32bit)) {
    uint64_t addr = addr0;
    if (addr) {
      addr &= ~(page_size - 1);
      // mmap_address_hint_valid: inside user space, not crossing the 47-bit window.
      bool valid = task_size - len >= addr && ((addr > task_size) == (addr + len > task_size));
      if (valid) {
        Vma *v = vmas.tree.find(addr);
        if (!v || addr + len <= vm_start_gap(*v)) return addr;
      }
    }
    uint64_t low = (flags & lx::map_above4g) ? (1ull << 32) : page_size;
    Result<uint64_t> r =
        vm_unmapped_area(true, len, low, mmap_base, align_mask, pgoff << page_shift, 0);
    if (r) return r;
  }
  // A failed top-down search falls back to bottom-up; MAP_32BIT always goes there.
  return arch_get_unmapped_area(addr0, len, pgoff, flags, align_mask);
}

Result<uint64_t> AddressSpace::mm_get_unmapped_area(uint64_t addr, uint64_t len, uint64_t pgoff,
                                                    uint64_t flags, uint64_t align_mask) {
  if (topdown) return arch_get_unmapped_area_topdown(addr, len, pgoff, flags, align_mask);
  return arch_get_unmapped_area(addr, len, pgoff, flags, align_mask);
}

// Linux: thp_get_unmapped_area_vmflags / __thp_get_unmapped_area. Pads the search by one PMD
// and places the range so that file offset and address agree modulo the PMD size.
Result<uint64_t> AddressSpace::thp_get_unmapped_area(uint64_t addr, uint64_t len, uint64_t pgoff,
                                                     uint64_t flags) {
  const uint64_t pmd = page_size * (page_size / 8);
  // Linux does this arithmetic on loff_t (signed) mixed with unsigned long; the comparisons
  // below keep C's conversions, including for offsets near 2^63.
  const uint64_t off = pgoff << page_shift;
  const int64_t s_off = static_cast<int64_t>(off);
  const int64_t off_end = static_cast<int64_t>(off + len);
  const int64_t off_align = static_cast<int64_t>(((off - 1) | (pmd - 1)) + 1);
  bool try_align = cfg.transparent_hugepage &&
                   !(off_end <= off_align ||
                     static_cast<uint64_t>(off_end) - static_cast<uint64_t>(off_align) < pmd);
  const uint64_t len_pad = len + pmd;
  if (try_align &&
      (len_pad < len || static_cast<uint64_t>(s_off) + len_pad < static_cast<uint64_t>(s_off)))
    try_align = false;
  if (try_align) {
    Result<uint64_t> r = mm_get_unmapped_area(addr, len_pad, off >> page_shift, flags, 0);
    if (r) {
      uint64_t ret = *r;
      if (ret == addr) return addr;
      uint64_t off_sub = (off - ret) & (pmd - 1);
      if (topdown && !off_sub) return ret + pmd;
      return ret + off_sub;
    }
  }
  return mm_get_unmapped_area(addr, len, pgoff, flags, 0);
}

Result<uint64_t> AddressSpace::get_unmapped_area(const OpenFile *file, uint64_t addr, uint64_t len,
                                                 uint64_t pgoff, uint64_t flags,
                                                 uint64_t vm_flags) {
  (void)vm_flags;
  if (len > task_size) return fail(Errno::nomem);
  Result<uint64_t> r = fail(Errno::nomem);
  const uint64_t pmd = page_size * (page_size / 8);
  if (file) {
    const Inode &in = *file->inode();
    switch (in.area_policy()) {
      case AreaPolicy::hugetlb: {
        uint64_t h = in.huge_page_size();
        if (len & (h - 1)) return fail(Errno::inval);
        if ((flags & lx::map_fixed) && (addr & (h - 1))) return fail(Errno::inval);
        uint64_t addr0 = addr ? ((addr + h - 1) & ~(h - 1)) : 0;
        r = mm_get_unmapped_area(addr0, len, pgoff, flags, (h - 1) & ~(page_size - 1));
        break;
      }
      case AreaPolicy::thp:
        r = thp_get_unmapped_area(addr, len, pgoff, flags);
        break;
      case AreaPolicy::dev_zero:
        if (flags & lx::map_shared)
          r = mm_get_unmapped_area(addr, len, pgoff, flags, 0);
        else
          r = thp_get_unmapped_area(addr, len, pgoff, flags);
        break;
      default:
        r = mm_get_unmapped_area(addr, len, pgoff, flags, 0);
        break;
    }
  } else {
    pgoff = 0;  // anonymous memory has no file offset
    if (!(flags & lx::map_shared) && cfg.transparent_hugepage && !addr && (len & (pmd - 1)) == 0)
      r = thp_get_unmapped_area(addr, len, pgoff, flags);
    else
      r = mm_get_unmapped_area(addr, len, pgoff, flags, 0);
  }
  if (!r) return r;
  // Linux tests the result with IS_ERR_VALUE: a MAP_FIXED address in the last page of the
  // 64-bit space comes back as that "error" (mmap(0xfffffffffffffda2, ..., MAP_FIXED) fails
  // with errno 606).
  if (*r >= static_cast<uint64_t>(-4095))
    return fail(static_cast<Errno>(-static_cast<int64_t>(*r)));
  if (*r > task_size - len) return fail(Errno::nomem);
  if (!page_aligned(*r)) return fail(Errno::inval);
  return r;
}

}  // namespace vmspace
