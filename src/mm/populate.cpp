// Faulting memory in at the VMA level (Linux: mm/gup.c __mm_populate, populate_vma_page_range;
// mm/rmap.c __anon_vma_prepare; mm/vma.c find_mergeable_anon_vma).
//
// What matters to the VMA layer is which VMAs get an anon_vma: a write fault on a private
// mapping creates one (or reuses a compatible neighbour's), and anon_vma identity decides
// later merges.
#include "mm/address_space.hpp"

namespace vmspace {

namespace {
// Linux: anon_vma_compatible(a, b) with a just below b.
bool anon_vma_compatible(const Vma &a, const Vma &b, unsigned shift) {
  return a.end == b.start && a.file == b.file &&
         !((a.flags ^ b.flags) & ~(vm::access_flags | vm::softdirty)) &&
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

void AddressSpace::populate(uint64_t start, uint64_t len) {
  uint64_t end = start + len;
  for (Vma *v = vmas.tree.find(start); v && v->start < end; v = VmaTree::next(v)) {
    if (v->flags & (vm::io | vm::pfnmap)) continue;
    if (v->flags & vm::lockonfault) continue;
    if (!(v->flags & vm::access_flags)) continue;  // PROT_NONE cannot be faulted in
    if ((v->flags & (vm::write | vm::shared)) == vm::write) anon_vma_prepare(v);
  }
}

}  // namespace vmspace
