// Unmapping (Linux: mm/vma.c do_vmi_munmap, vms_gather_munmap_vmas, vms_complete_munmap_vmas).
#include <algorithm>
#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"

namespace vmspace {

namespace {
bool is_exec(uint64_t f) { return (f & (vm::exec | vm::write | vm::stack)) == vm::exec; }
bool is_stack(uint64_t f) { return (f & vm::stack) == vm::stack; }
bool is_data(uint64_t f) { return (f & (vm::write | vm::shared | vm::stack)) == vm::write; }
}  // namespace

Result<void> AddressSpace::gather_unmap(uint64_t start, uint64_t end, Vma *first, UnmapPlan &plan) {
  plan.start = start;
  plan.end = end;
  // The list of VMAs to remove is allocated before anything splits, so that running out of
  // memory (std::bad_alloc) leaves the layout as it was.
  size_t count = 0;
  for (const Vma *v = first; v && v->start < end; v = VmaTree::next(v)) count++;
  plan.vmas.reserve(count);
  const int max = static_cast<int>(cfg.max_map_count);
  if (start > first->start) {
    // Splitting in three needs a free slot; map_count may go one above the limit for a split
    // in two, to let munmap free resources.
    if (end < first->end && vmas.map_count() >= max) return fail(Errno::nomem);
    if (first->flags & vm::sealed) return fail(Errno::perm);
    if (!VmaSet::may_split(*first, start)) return fail(Errno::inval);
    vmas.split(first, start, /*new_below=*/true);
  }
  plan.prev = VmaTree::prev(first);
  Vma *v = first;
  for (; v && v->start < end; v = VmaTree::next(v)) {
    // A sealed VMA stops the unmap; splits made so far stay (Linux does not undo them).
    if (v->flags & vm::sealed) {
      plan.vmas.clear();
      return fail(Errno::perm);
    }
    if (v->end > end) {
      if (!VmaSet::may_split(*v, end)) {
        plan.vmas.clear();
        return fail(Errno::inval);
      }
      vmas.split(v, end, /*new_below=*/false);
    }
    plan.vmas.push_back(v);
    uint64_t n = pages(v->size());
    plan.nr_pages += n;
    if (v->flags & vm::locked) plan.locked += n;
    if (v->flags & vm::account) plan.nr_accounted += n;
    if (is_exec(v->flags))
      plan.exec += n;
    else if (is_stack(v->flags))
      plan.stack += n;
    else if (is_data(v->flags))
      plan.data += n;
  }
  plan.next = v;
  return {};
}

void AddressSpace::complete_unmap(UnmapPlan &plan) {
  locked_vm -= plan.locked;
  if (plan.nr_pages) {
    update_hiwater();
    total_vm -= plan.nr_pages;
    exec_vm -= plan.exec;
    stack_vm -= plan.stack;
    data_vm -= plan.data;
  }
  uint64_t lo = ~0ull, hi = 0;
  for (Vma *v : plan.vmas) {
    zap(v->start, v->end);
    lo = std::min(lo, v->start);
    hi = std::max(hi, v->end);
    vmas.remove(v);
  }
  if (hi > lo) {
    // Linux: free_pgtables between the neighbours that stay (unmap_start, unmap_end).
    const Vma *next = vmas.tree.find(hi);
    const Vma *after = vmas.tree.find(lo);
    const Vma *prev = after ? VmaTree::prev(after) : vmas.tree.last();
    pt.free_range(lo >> page_shift, (hi - 1) >> page_shift, prev ? prev->end >> page_shift : 0,
                  next ? next->start >> page_shift : 0);
  }
  if (plan.nr_accounted) vm_unacct_memory(plan.nr_accounted);
  plan.vmas.clear();
}

Result<void> AddressSpace::munmap(uint64_t start, uint64_t len) {
  if (!page_aligned(start) || start > task_size || len > task_size - start)
    return fail(Errno::inval);
  uint64_t end = start + page_align(len);
  if (end == start) return fail(Errno::inval);
  Vma *v = vmas.tree.find(start);
  if (!v || v->start >= end) return {};
  UnmapPlan plan;
  VMS_TRY(gather_unmap(start, end, v, plan));
  complete_unmap(plan);
  notify(LayoutChange::unmapped, start, end);
  return {};
}

}  // namespace vmspace
