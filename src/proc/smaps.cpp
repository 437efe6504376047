// /proc/PID/smaps entries (Linux: fs/proc/task_mmu.c show_smap, smaps_pte_range,
// smaps_account, __show_smap).
//
// One VMA's page-table entries are walked: every present entry of a normal page (not the zero
// page, not a special mapping's) adds a page to Rss; PSS divides it by the number of entries
// that map the page in the whole System; a page mapped once is private, else shared; dirty
// when the entry or the page is (a page-cache page written by write(2) is); referenced when
// the entry is young. Hugetlb pages are in no Rss: they count as Shared_Hugetlb or
// Private_Hugetlb, one huge page per huge-page-sized range with a page present.
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "mm/address_space.hpp"
#include "proc/maps.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
constexpr unsigned kPssShift = 12;

struct Totals {
  uint64_t resident = 0, pss = 0, pss_dirty = 0, shared_clean = 0, shared_dirty = 0,
           private_clean = 0, private_dirty = 0, referenced = 0, anonymous = 0, lazyfree = 0,
           shared_hugetlb = 0, private_hugetlb = 0, pss_locked = 0, anon_huge = 0, pss_anon = 0,
           pss_file = 0, pss_shmem = 0;
};

void field(std::string &out, const char *key, uint64_t kb) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-16s%8llu kB\n", key, static_cast<unsigned long long>(kb));
  out += buf;
}

// Linux: thp_vma_allowable_order(vma, vm_flags, TVA_SMAPS, PMD_ORDER) with THP in "madvise"
// mode for anonymous memory: MADV_HUGEPAGE and room for an aligned huge page.
bool thp_eligible(const AddressSpace &mm, const Vma &v) {
  constexpr uint64_t kHuge = 2ull << 20;
  if (!mm.ctx.cfg.transparent_hugepage || !v.is_anonymous()) return false;
  if (v.special != Special::none || (v.flags & (vm::hugetlb | vm::nohugepage))) return false;
  if (!(v.flags & vm::hugepage)) return false;
  if (v.end - v.start < kHuge) return false;
  const uint64_t h = (v.end - kHuge) & ~(kHuge - 1);
  return h >= v.start;
}

// Adds the pages of v to t (Linux: walk_page_vma with smaps_walk_ops).
void account(const AddressSpace &mm, const Vma &v, Totals &t) {
  const FramePool &fp = mm.ctx.frames;
  const bool locked = v.flags & vm::locked;
  const bool hugetlb = v.flags & vm::hugetlb;
  const uint64_t huge = hugetlb && v.file ? v.file->split_granule() : 0;
  uint64_t last_huge = ~0ull;
  const uint64_t first = v.start >> mm.page_shift, last = (v.end - 1) >> mm.page_shift;
  // Page-table leaves that forks share count each of their frames once for all the address
  // spaces that hold them: the mappings they stand for besides are added here.
  std::unordered_map<uint32_t, uint32_t> extra;
  if (mm.ctx.leaf_shares.any()) {
    std::unordered_set<uint32_t> want;
    mm.pt.each_read(first, last, [&](uint64_t, uint64_t e) {
      if (e & pte::present) want.insert(pte::frame(e));
    });
    mm.ctx.leaf_shares.extra_maps(extra, &want);
  }
  auto mapcount_of = [&](uint32_t f) {
    const uint32_t n = fp.mapcount(f);
    if (extra.empty()) return n;
    const auto it = extra.find(f);
    return it == extra.end() ? n : n + it->second;
  };
  mm.pt.each_read(first, last, [&](uint64_t vpn, uint64_t e) {
    if (!(e & pte::present)) return;
    const uint32_t f = pte::frame(e);
    if (hugetlb) {
      const uint64_t h = huge ? (vpn << mm.page_shift) / huge : vpn;
      if (h == last_huge) return;
      last_huge = h;
      (mapcount_of(f) >= 2 ? t.shared_hugetlb : t.private_hugetlb) += huge ? huge : mm.page_size;
      return;
    }
    if (f == FramePool::kZero || (e & pte::norss)) return;  // not a normal page
    const uint64_t size = mm.page_size;
    const uint32_t mapcount = mapcount_of(f);
    const bool dirty = (e & pte::dirty) || fp.dirty(f);
    uint64_t pss = size << kPssShift;
    if (mapcount >= 2) pss /= mapcount;
    t.resident += size;
    t.pss += pss;
    if (dirty) t.pss_dirty += pss;
    ((e & pte::anon) ? t.pss_anon : (e & pte::shmem) ? t.pss_shmem : t.pss_file) += pss;
    if (locked) t.pss_locked += pss;
    if (mapcount >= 2)
      (dirty ? t.shared_dirty : t.shared_clean) += size;
    else
      (dirty ? t.private_dirty : t.private_clean) += size;
    if (e & pte::young) t.referenced += size;
    if (e & pte::anon) {
      t.anonymous += size;
      if (e & pte::huge) t.anon_huge += size;  // mapped by a PMD (the zero page is not)
      if ((e & pte::lazyfree) && !dirty) t.lazyfree += size;
    }
  });
}

// The counters from Rss on, as show_smap and show_smaps_rollup print them (the rollup adds
// the Pss split by kind).
void render_counters(const Totals &t, bool rollup, std::string &out) {
  field(out, "Rss:", t.resident >> 10);
  field(out, "Pss:", t.pss >> (10 + kPssShift));
  field(out, "Pss_Dirty:", t.pss_dirty >> (10 + kPssShift));
  if (rollup) {
    field(out, "Pss_Anon:", t.pss_anon >> (10 + kPssShift));
    field(out, "Pss_File:", t.pss_file >> (10 + kPssShift));
    field(out, "Pss_Shmem:", t.pss_shmem >> (10 + kPssShift));
  }
  field(out, "Shared_Clean:", t.shared_clean >> 10);
  field(out, "Shared_Dirty:", t.shared_dirty >> 10);
  field(out, "Private_Clean:", t.private_clean >> 10);
  field(out, "Private_Dirty:", t.private_dirty >> 10);
  field(out, "Referenced:", t.referenced >> 10);
  field(out, "Anonymous:", t.anonymous >> 10);
  field(out, "KSM:", 0);
  field(out, "LazyFree:", t.lazyfree >> 10);
  field(out, "AnonHugePages:", t.anon_huge >> 10);
  field(out, "ShmemPmdMapped:", 0);
  field(out, "FilePmdMapped:", 0);
  field(out, "Shared_Hugetlb:", t.shared_hugetlb >> 10);
  field(out, "Private_Hugetlb:", t.private_hugetlb >> 10);
  field(out, "Swap:", 0);
  field(out, "SwapPss:", 0);
  field(out, "Locked:", t.pss_locked >> (10 + kPssShift));
}
}  // namespace

void render_smaps_entry(const AddressSpace &mm, const Vma &v, std::string &out) {
  render_maps_line(mm, v, out);
  Totals t;
  account(mm, v, t);
  const uint64_t huge = (v.flags & vm::hugetlb) && v.file ? v.file->split_granule() : 0;
  const uint64_t page_kb = (huge ? huge : mm.page_size) >> 10;
  field(out, "Size:", (v.end - v.start) >> 10);
  field(out, "KernelPageSize:", page_kb);
  field(out, "MMUPageSize:", page_kb);
  render_counters(t, false, out);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-16s%8d\n", "THPeligible:", thp_eligible(mm, v) ? 1 : 0);
  out += buf;
  out += "VmFlags: " + render_vm_flags(v.flags) + "\n";
}

void render_smaps_rollup(const AddressSpace &mm, std::string &out) {
  Totals t;
  const Vma *first = mm.vmas.tree.first();
  uint64_t end = 0;
  for (const Vma *v = first; v; v = VmaTree::next(v)) {
    account(mm, *v, t);
    end = v->end;
  }
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, "%08llx-%08llx ---p 00000000 00:00 0",
                        static_cast<unsigned long long>(first ? first->start : 0),
                        static_cast<unsigned long long>(end));
  out += buf;
  out += std::string(n < 73 ? 73 - n : 1, ' ');
  out += "[rollup]\n";
  render_counters(t, true, out);
}

}  // namespace vmspace
