// Faulting memory in at the VMA level (Linux: mm/gup.c __mm_populate, populate_vma_page_range;
// mm/rmap.c __anon_vma_prepare; mm/vma.c find_mergeable_anon_vma).
//
// What matters to the VMA layer is which VMAs get an anon_vma: a write fault on a private
// mapping creates one (or reuses a compatible neighbour's), and anon_vma identity decides
// later merges.
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"

namespace vmspace {

namespace {
// Linux: anon_vma_compatible(a, b) with a just below b. Like the merge rules, the sticky
// flags (VM_SOFTDIRTY, the guard marker) do not tell the two apart (observed on 6.18: a
// guarded VMA lends its anon_vma to a write-faulting neighbour).
bool anon_vma_compatible(const Vma &a, const Vma &b, unsigned shift) {
  return a.end == b.start && a.file == b.file &&
         !((a.flags ^ b.flags) & ~(vm::access_flags | vm::sticky)) &&
         b.pgoff == a.pgoff + ((b.start - a.start) >> shift);
}
}  // namespace

void AddressSpace::anon_vma_prepare(Vma *v) {
  if (v->anon) return;
  AnonVma *reuse = nullptr;
  Vma *next = VmaTree::next(v);
  if (next && anon_vma_compatible(*v, *next, page_shift) && next->anon && !next->anon_has_parents)
    reuse = next->anon.get();
  if (!reuse) {
    Vma *prev = VmaTree::prev(v);
    if (prev && anon_vma_compatible(*prev, *v, page_shift) && prev->anon && !prev->anon_has_parents)
      reuse = prev->anon.get();
  }
  v->anon = reuse ? Ref<AnonVma>(reuse) : make_ref<AnonVma>(next_anon_id());
  v->anon_has_parents = false;
}

bool AddressSpace::backed(const Vma *v, uint64_t start, uint64_t end) const {
  if (!v->file || !v->vm_ops || v->special != Special::none) return true;
  const Inode &in = *static_cast<const OpenFile *>(v->file.get())->inode();
  if (in.kind() != InodeKind::regular && in.kind() != InodeKind::shmem &&
      in.kind() != InodeKind::hugetlb)
    return true;
  // The last page of the range must lie inside the file (those before it are then too).
  if (end <= start) return true;
  const uint64_t last = v->pgoff + ((end - 1 - v->start) >> page_shift);
  const uint64_t size_pages = (in.size() + page_size - 1) >> page_shift;
  if (last >= size_pages) return false;
  // hugetlb: without a reservation a fault needs a free huge page (which pages are present
  // already comes with the page layer).
  if (in.kind() == InodeKind::hugetlb && (v->flags & vm::noreserve) &&
      ctx.inodes.huge_free(in.huge_page_size()) == 0)
    return false;
  return true;
}

// Linux: populate_vma_page_range over [start, end) of v: a write fault on private writable
// memory, else a read fault. Errno::fault where the faults fail (SIGBUS or no access).
Result<void> AddressSpace::fault_in(Vma *v, uint64_t start, uint64_t end) {
  if (v->flags & vm::lockonfault) return {};
  if (!(v->flags & vm::access_flags)) return fail(Errno::fault);
  const bool write = (v->flags & (vm::write | vm::shared)) == vm::write;
  if (write && !(v->flags & vm::hugetlb)) anon_vma_prepare(v);
  return populate_pages(v, start, end, write);
}

Result<void> AddressSpace::populate_pages(Vma *v, uint64_t start, uint64_t end, bool write) {
  // Huge pages stay at the VMA level (their pages come on access).
  if (v->flags & vm::hugetlb) {
    if (!backed(v, start, end)) return fail(Errno::fault);
    return {};
  }
  // Page by page, as get_user_pages: the pages before a SIGBUS stay present.
  for (uint64_t a = start; a < end; a += page_size) {
    const uint64_t e = pt.get(a >> page_shift);
    if (e & pte::guard) return fail(Errno::fault);
    // A private copy is there to stay; a file page may have been truncated away.
    const bool present = e & pte::present;
    const bool copy = present && (e & pte::anon);
    if (!copy && !backed(v, a, a + page_size)) {
      if (!write) fault_around_past_eof(v, a);
      return fail(Errno::fault);
    }
    if (present && (!write || !(e & pte::cow))) continue;
    if (!page_for(v, a, write)) return fail(Errno::nomem);
  }
  return {};
}

Result<void> AddressSpace::populate_range(uint64_t start, uint64_t len, bool ignore_errors) {
  const uint64_t end = start + len;
  if (end <= start) return {};  // Linux: __mm_populate walks [start, end), nothing here
  for (Vma *v = vmas.tree.find(start); v && v->start < end; v = VmaTree::next(v)) {
    if (v->flags & (vm::io | vm::pfnmap)) continue;
    Result<void> r = fault_in(v, v->start > start ? v->start : start, v->end < end ? v->end : end);
    if (!r && !ignore_errors) return r;
  }
  return {};
}

void AddressSpace::populate(uint64_t start, uint64_t len) {
  (void)populate_range(start, len, true);
}

}  // namespace vmspace
