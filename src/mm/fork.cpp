// Copying an address space for fork (Linux: kernel/fork.c dup_mm, mm/mmap.c
// dup_mmap, mm/rmap.c anon_vma_fork).
#include <algorithm>
#include <new>

#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"

namespace vmspace {

Result<std::shared_ptr<AddressSpace>> AddressSpace::fork_copy(const TaskLimits &lim) {
  drop_stale();  // entries of truncated-away pages are not copied
  auto child = std::make_shared<AddressSpace>(ctx, 8ull << 20);
  AddressSpace &c = *child;
  c.mmap_base = mmap_base;
  c.mmap_legacy_base = mmap_legacy_base;
  c.topdown = topdown;
  c.start_code = start_code;
  c.end_code = end_code;
  c.start_data = start_data;
  c.end_data = end_data;
  c.start_brk = start_brk;
  c.brk = brk;
  c.start_stack = start_stack;
  c.has_vsyscall = has_vsyscall;
  // mlockall(MCL_FUTURE) is not inherited; VM_NOHUGEPAGE from prctl is.
  c.def_flags = def_flags & vm::nohugepage;
  c.total_vm = total_vm;
  c.data_vm = data_vm;
  c.exec_vm = exec_vm;
  c.stack_vm = stack_vm;
  c.locked_vm = 0;
  c.locked_vm_skew = 0;

  // On failure the child is dropped: its destructor gives back the commitment of the VMAs
  // it holds (Linux: dup_mmap's fail_nomem, then mmput); only the VMA being copied is given
  // back here.
  for (const Vma *v = vmas.tree.first(); v; v = VmaTree::next(v)) {
    if (v->flags & vm::dontcopy) {
      c.vm_stat_account(v->flags, -static_cast<int64_t>(pages(v->size())));
      continue;
    }
    uint64_t charge = 0;
    if (v->flags & vm::account) {
      if (!vm_enough_memory(pages(v->size()), lim)) return fail(Errno::nomem);
      charge = pages(v->size());
    }
    // Room for the copy in the child's pools first: a link that failed halfway would leave
    // the child's tree broken.
    Vma copy;
    try {
      if (!c.vmas.reserve(1)) throw std::bad_alloc();
      copy = *v;
      if (v->flags & vm::wipeonfork) {
        copy.anon = nullptr;  // a clean slate in the child
        copy.anon_has_parents = false;
      } else if (v->anon) {
        // The child's VMA is linked to the parent's anon_vma (pages not yet
        // copied) and gets its own: its chain is no longer singular.
        copy.anon = make_ref<AnonVma>(next_anon_id(), v->anon);
        copy.anon_has_parents = true;
      }
    } catch (const std::bad_alloc &) {
      if (charge) vm_unacct_memory(charge);
      return fail(Errno::nomem);
    }
    copy.flags &= ~vm::locked_mask;
    c.vmas.link(c.vmas.alloc(copy));
    try {
      fork_pages(c, *v);
    } catch (const std::bad_alloc &) {
      return fail(Errno::nomem);  // the child (freed by the caller) had no room for tables
    }
  }
  c.hiwater_vm = c.total_vm;
  c.hiwater_rss = c.rss();
  for (int i : {0, 1, 2, 4}) c.rss_base[i] = rss_base[i];
  return child;
}

// Linux: copy_page_range for one VMA, with the page tables copied lazily where they can be.
void AddressSpace::fork_pages(AddressSpace &child, const Vma &v) {
  // Linux: vma_needs_copy: memory with an anon_vma, and PFN or mixed maps ([vvar]).
  if ((!v.anon && !(v.flags & (vm::pfnmap | vm::mixedmap))) || (v.flags & vm::wipeonfork)) return;
  // The child gets a table wherever the parent has one in the range, entries or not.
  const uint64_t first = v.start >> page_shift, last = (v.end - 1) >> page_shift;
  const bool shared = v.flags & vm::shared;
  const uint64_t keep = ~(pte::young | (shared ? pte::dirty : 0));
  FramePool &fp = ctx.frames;
  // A page in an RSS counter (not the zero page, not hugetlb or a special mapping's).
  auto counted = [](uint64_t e) {
    return (e & pte::present) && pte::frame(e) != FramePool::kZero && !(e & pte::norss);
  };
  constexpr uint64_t kSpan = PageTable::kLeafSpan;
  // Table by table (Linux: copy_pte_range): the entries of one leaf in a row.
  pt.each_table(first, last, [&](uint64_t t) {
    // A leaf wholly inside a private VMA that maps anonymous pages only (and guard markers)
    // is shared with the child instead of copied: the frames' counts then change only when
    // either side changes an entry of it (PageTable's lazily copied leaves). Both sides see
    // every page copy-on-write, the child sees them old, as after Linux's copy.
    if (!shared && t >= first && t + kSpan - 1 <= last && pt.leaf_used(t) > 0) {
      const uint64_t *r = pt.leaf_entries_read(t);
      uint64_t anon = 0, not_cow = 0, other = 0;
      for (uint64_t i = 0; i < kSpan; i++) {
        const uint64_t e = r[i];
        const bool present = e & pte::present;
        // Present anonymous pages (or the zero page) and guard markers only; counted() but
        // cheaper.
        other |= (e && !(e & pte::guard) &&
                  (!present || (e & pte::norss) ||
                   (!(e & pte::anon) && pte::frame(e) != FramePool::kZero)));
        anon += present && (e & pte::anon) && pte::frame(e) != FramePool::kZero;
        not_cow += present && !(e & pte::cow);
      }
      if (!other) {
        if (not_cow) {
          // Both sides copy on their next store (entries of a shared leaf are copy-on-write
          // already: nobody changes it).
          uint64_t *e = pt.leaf_entries(t);
          for (uint64_t i = 0; i < kSpan; i++)
            if (e[i] & pte::present) e[i] |= pte::cow;
        }
        if (child.pt.share_leaf(pt, t)) {
          child.rss_anon += anon;
          return;
        }
      }
    }
    child.pt.prepare(std::max(t, first));
    uint64_t *from = pt.leaf_entries(t);
    uint64_t *to = child.pt.leaf_entries(t);
    if (!from || !to) return;
    const uint64_t lo = std::max(t, first) - t, hi = std::min(t + kSpan - 1, last) - t;
    uint64_t added = 0, counts[3] = {0, 0, 0};  // rss_anon, rss_file, rss_shmem
    for (uint64_t i = lo; i <= hi; i++) {
      uint64_t &e = from[i];
      if (!e) continue;
      if (e & pte::guard) {
        to[i] = e;  // guard markers are inherited
        added++;
        continue;
      }
      if (!(e & pte::present)) continue;
      if (!shared) e |= pte::cow;  // both sides copy on their next store
      // Linux: copy_present_pte makes the child's entry old, and clean for shared memory.
      to[i] = e & keep;
      added++;
      fp.get_mapped(pte::frame(e));
      if (counted(e)) counts[(e & pte::anon) ? 0 : (e & pte::shmem) ? 2 : 1]++;
    }
    child.pt.note_set(t, added);
    child.rss_anon += counts[0];
    child.rss_file += counts[1];
    child.rss_shmem += counts[2];
  });
}

}  // namespace vmspace
