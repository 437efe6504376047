// VmaSet: the VMAs of one address space and the only code that splits and merges them
// (Linux: mm/vma.c). Address spaces, mprotect, munmap, mmap and later mremap, mlock and madvise
// all change VMA structure through these functions.
//
// Merge rules (Linux: is_mergeable_vma, is_mergeable_anon_vma, can_vma_merge_before/after):
//   two VMAs may become one when they are adjacent, their flags are equal ignoring
//   VM_SOFTDIRTY, they map the same file object (not just the same inode) at contiguous page
//   offsets, carry the same anon name, are not special (VM_IO|VM_DONTEXPAND|VM_PFNMAP|
//   VM_MIXEDMAP), and their anon_vmas are compatible: equal, or one side has none and the other
//   does not still share pages with a fork parent.
//
// Diagram of the cases of merge_existing (range [start, end) of `middle` changes attributes):
//
//        prev     middle     next           result
//       |----|************|------|
//            |<-------------->|             merge both: prev grows over middle and next
//            |<-------->|                   merge left: prev grows, middle shrinks from below
//                  |<-------->|             merge right: next grows down, middle shrinks
#pragma once

#include <cstdint>
#include <vector>

#include "base/pool.hpp"
#include "vma/vma.hpp"
#include "vma/vma_tree.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

// A VMA-to-be: the attributes a new or modified range would have (Linux: vma_merge_struct).
struct VmaProposal {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t pgoff = 0;
  uint64_t flags = 0;
  MappedFile *file = nullptr;
  AnonVma *anon = nullptr;
  bool anon_has_parents = false;
  AnonName *anon_name = nullptr;
  Special special = Special::none;
};

class VmaSet {
 public:
  explicit VmaSet(unsigned page_shift) : page_shift_(page_shift) {}
  VmaSet(const VmaSet &) = delete;
  VmaSet &operator=(const VmaSet &) = delete;
  ~VmaSet();

  VmaTree tree;

  // Told of every address where a VMA boundary appears inside what was one VMA (a split, or a
  // merge that moves a boundary), before the change: the owner of the page tables splits a
  // huge page mapping cut there (Linux: vma_adjust_trans_huge).
  void (*on_boundary)(void *owner, uint64_t addr) = nullptr;
  void *boundary_owner = nullptr;

  // Number of VMAs (Linux: mm->map_count).
  int map_count() const { return static_cast<int>(tree.size()); }

  // VMAs, tree nodes and what a VMA refers to on the heap (anon_vma, names: a fixed
  // estimate per VMA) are charged to `m` from now on.
  void set_meter(MemoryMeter *m);
  // The host memory the set's pools hold.
  size_t bytes() const { return pool_.bytes() + tree.bytes(); }

  // The most VMAs one system call makes (mremap: two splits of the source, the new VMA, two
  // splits where it lands).
  static constexpr int kMaxNewPerCall = 8;
  // Makes sure n VMAs can be made and linked without memory from the host (Linux:
  // vma_iter_prealloc before a change); false when the host has none. Every call that changes
  // the set reserves first, so that running out of memory is ENOMEM before anything changed.
  [[nodiscard]] bool reserve(int n = kMaxNewPerCall) {
    return pool_.reserve(static_cast<size_t>(n)) && tree.reserve(n);
  }
  // A fresh VMA object, not yet in the tree; give it back with release() if unused.
  Vma *alloc(const Vma &proto);
  // Returns a VMA object (already removed from the tree) to the pool, dropping its references.
  void release(Vma *v);
  // Inserts a prepared VMA (Linux: vma_link).
  void link(Vma *v) { tree.insert(v); }
  // Removes v from the tree and frees it.
  void remove(Vma *v) {
    tree.erase(v);
    release(v);
  }

  // May v be split at addr? False for hugetlb VMAs at addresses that are not huge-page
  // aligned (Linux: vm_ops->may_split, which makes __split_vma fail with EINVAL).
  // Special mappings ([vvar], [vdso]) never split (Linux: special_mapping_split).
  static bool may_split(const Vma &v, uint64_t addr) {
    if (v.special != Special::none) return false;
    uint64_t g = v.file ? v.file->split_granule() : 0;
    return g == 0 || (addr & (g - 1)) == 0;
  }
  // Splits v at addr (page aligned, strictly inside v, may_split true). The new VMA takes the
  // part below addr when new_below, else the part above. Returns the new VMA. Callers check
  // map_count first (Linux: __split_vma; split_vma adds the map_count check).
  Vma *split(Vma *v, uint64_t addr, bool new_below);

  // Tries to place a new range next to compatible neighbours (Linux: vma_merge_new_range).
  // prev/next are the VMAs just below/above the range (or null). With just_expand only prev
  // may grow (brk). Returns the VMA that now covers the range, or null when nothing merged.
  Vma *merge_new(const VmaProposal &p, Vma *prev, Vma *next, bool just_expand = false);

  // Tries to merge the range [p.start, p.end) of `middle`, about to take the attributes of p,
  // with its neighbours (Linux: vma_merge_existing_range). Returns the merged VMA or null.
  Vma *merge_existing(const VmaProposal &p, Vma *middle);

  // Makes [p.start, p.end) of `middle` a VMA of its own, merging where possible, splitting
  // otherwise (Linux: vma_modify). A split fails with ENOMEM when map_count >= max_map_count
  // and with EINVAL where may_split refuses; a split done before the failing one stays, as in
  // Linux. On success *out is the VMA that covers exactly [p.start, p.end); its attributes
  // are not changed here. Returns Errno::none on success.
  Result<void> modify(const VmaProposal &p, Vma *middle, int max_map_count, Vma **out);

  // The attributes of v over [start, end) as a proposal (Linux: VMG_VMA_STATE).
  VmaProposal proposal_of(const Vma &v, uint64_t start, uint64_t end) const;

  // Are these compatible for merging (everything but adjacency and pgoff)?
  static bool attrs_mergeable(const Vma &v, const VmaProposal &p);
  // Linux: is_mergeable_anon_vma(vmg, merge_next) in 6.16+.
  static bool anon_mergeable(const AnonVma *src_anon, const Vma *src, const Vma &target);
  static bool anon_compatible(const Vma &a, const Vma &b);

  unsigned page_shift() const { return page_shift_; }

 private:
  // Copies anon_vma from src into dst when dst has none (Linux: dup_anon_vma).
  static void dup_anon(Vma *dst, const Vma *src);

  static constexpr int64_t kVmaHeap = 64;  // anon_vma and name objects, per VMA (estimate)
  unsigned page_shift_;
  Pool<Vma> pool_;
  MemoryMeter *meter_ = nullptr;
  uint64_t live_ = 0;
};

}  // namespace vmspace
