// PageTable: one address space's page-table entries (Linux: the pgd/pud/pmd/pte levels).
//
// Four levels of 512 entries indexed by the virtual page number, as on x86-64 with 4 KiB
// pages (larger page sizes use fewer of the levels' bits); tables are allocated when an entry
// below them is first set and freed when they empty. An entry is a 64-bit word: the frame
// number in the high half and the bits below in the low half. An empty entry is 0.
//
// Entries point at frames of the FramePool; the table does not count references: the
// address space that sets and clears entries does (it knows which frames are anonymous and
// which belong to a page cache).
#pragma once

#include <cstdint>
#include <memory>

#include "base/meter.hpp"

namespace vmspace {

namespace pte {
inline constexpr uint64_t present = 1;    // maps a frame
inline constexpr uint64_t cow = 2;        // mapped read-only: a write copies (or reuses) it
inline constexpr uint64_t dirty = 4;      // written through this entry
inline constexpr uint64_t young = 8;      // accessed (Referenced)
inline constexpr uint64_t anon = 16;      // an anonymous page (not a page-cache page)
inline constexpr uint64_t guard = 32;     // MADV_GUARD_INSTALL marker (no frame)
inline constexpr uint64_t lazyfree = 64;  // MADV_FREE'd anonymous page
inline constexpr uint64_t shmem = 128;    // counted in RssShmem (else RssFile, unless anon)
inline constexpr uint64_t norss = 256;    // hugetlb and special pages: in no RSS counter
// Part of a 2 MiB window the kernel would map with one PMD (a transparent huge page, or the
// huge zero page): all 512 entries of the window carry it, or none does.
inline constexpr uint64_t huge = 512;
// MADV_FREE'd, still in the per-CPU batch that marks folios lazy-free (lru_lazyfree): not yet
// counted as LazyFree.
inline constexpr uint64_t lazy_pending = 1024;
inline uint32_t frame(uint64_t e) { return static_cast<uint32_t>(e >> 32); }
inline uint64_t make(uint32_t frame, uint64_t bits) {
  return (static_cast<uint64_t>(frame) << 32) | bits;
}
}  // namespace pte

class PageTable {
 public:
  explicit PageTable(MemoryMeter *meter = nullptr) : meter_(meter) {}
  ~PageTable();
  PageTable(const PageTable &) = delete;
  PageTable &operator=(const PageTable &) = delete;

  // The entry of virtual page vpn, or 0.
  uint64_t get(uint64_t vpn) const {
    const uint64_t *e = find(vpn);
    return e ? *e : 0;
  }
  // A pointer to the entry (null when no table holds it yet).
  uint64_t *find(uint64_t vpn) const;
  // Sets an entry (allocating tables; throws std::bad_alloc when the host has no memory or the
  // meter no room).
  void set(uint64_t vpn, uint64_t e);
  // Makes sure the tables for vpn exist, so that a later set(vpn, ...) cannot fail (throws
  // std::bad_alloc like set()).
  void prepare(uint64_t vpn) {
    if (!find(vpn)) {
      set(vpn, pte::guard);  // any non-empty value builds the path
      uint64_t *e = find(vpn);
      *e = 0;
      leaf_of(vpn)->used--;
      entries_--;
    }
  }
  // While held (calls nest), tables that become empty stay (prepared tables survive a zap).
  void hold(bool on) { holds_ += on ? 1 : -1; }
  // Tables stay when they empty, as Linux's do: only free_range frees them (munmap's
  // free_pgtables), so that VmPTE counts what the kernel's would.
  void keep_empty_tables() { holds_ += 1; }
  // Linux: free_pgd_range: frees the empty tables that [first, last] reaches whose whole
  // range lies in [floor, ceiling) (ceiling 0: the top).
  void free_range(uint64_t first, uint64_t last, uint64_t floor, uint64_t ceiling);
  // Clears an entry, freeing tables that become empty.
  void clear(uint64_t vpn);
  // Frees the leaf table holding vpn when it has no entries, whatever holds say; the tables
  // above it stay (Linux: the PTE table a zapped huge PMD deposited, or one MADV_DONTNEED
  // emptied with CONFIG_PT_RECLAIM). True when a table was freed.
  bool free_leaf(uint64_t vpn);

  // Calls f(vpn, entry&) for every non-empty entry with vpn in [first, last], in order. f may
  // change the entry but not set others; entries it zeroes are counted (tables are freed
  // afterwards when they empty).
  template <class F>
  void each(uint64_t first, uint64_t last, F &&f);

  // Calls f(first vpn of the table) for every leaf table that holds a page of [first, last],
  // entries or not (fork copies tables, Linux: copy_pmd_range).
  template <class F>
  void each_table(uint64_t first, uint64_t last, F &&f) const {
    constexpr uint64_t kTop = (1ull << (kBits * kLevels)) - 1;
    if (last > kTop) last = kTop;
    for (uint64_t t = first & ~(kLeafSpan - 1); t <= last; t += kLeafSpan) {
      // Skip whole absent middle tables at once.
      const Node *n = &root_;
      int level = 0;
      for (; level < kLevels - 1 && n; level++) {
        const void *next = n->slot[idx(t, level)];
        if (!next) break;
        if (level == kLevels - 2) {
          f(t);
          break;
        }
        n = static_cast<const Node *>(next);
      }
      if (level < kLevels - 2) {
        // No table at `level`: jump to the next slot of that level.
        const uint64_t span = 1ull << (kBits * (kLevels - 1 - level));
        const uint64_t next = (t & ~(span - 1)) + span;
        if (next <= t) return;
        t = next - kLeafSpan;
      }
      if (t + kLeafSpan < t) return;
    }
  }
  // Pages one leaf table maps.
  static constexpr uint64_t kLeafSpan = 512;
  // The entries of the leaf table that holds vpn (kLeafSpan of them, from the table's first
  // page), or null when there is none: for loops over a whole table (fork). Entries made
  // non-empty through it are told with note_set.
  uint64_t *leaf_entries(uint64_t vpn) const {
    Leaf *l = leaf_of(vpn);
    return l ? l->e : nullptr;
  }
  // n entries of vpn's leaf table went from empty to non-empty through leaf_entries.
  void note_set(uint64_t vpn, uint64_t n) {
    if (!n) return;
    leaf_of(vpn)->used += static_cast<int>(n);
    entries_ += n;
  }
  // Bytes of page tables (Linux: mm_pgtables_bytes, VmPTE): the leaf and middle tables.
  uint64_t table_bytes() const { return tables_ * 4096; }
  uint64_t entries() const { return entries_; }

 private:
  static constexpr int kBits = 9, kFan = 1 << kBits, kLevels = 4;
  static_assert(kLeafSpan == 1ull << kBits);
  struct Node {
    int used = 0;  // non-empty slots
    void *slot[kFan] = {};
  };
  struct Leaf {
    int used = 0;
    uint64_t e[kFan] = {};
  };
  static unsigned idx(uint64_t vpn, int level) {
    return static_cast<unsigned>(vpn >> (kBits * (kLevels - 1 - level))) & (kFan - 1);
  }
  void free_node(void *n, int level);
  // free_range below node n (covering from base at level); true when n is now empty.
  bool free_empty(void *n, int level, uint64_t base, uint64_t first, uint64_t last, uint64_t floor,
                  uint64_t ceiling);
  Leaf *leaf_of(uint64_t vpn) const;
  template <class F>
  bool walk(void *n, int level, uint64_t base, uint64_t first, uint64_t last, F &f);

  MemoryMeter *meter_;
  Node root_;
  int holds_ = 0;
  uint64_t tables_ = 0;   // tables below the root
  uint64_t entries_ = 0;  // non-empty entries
};

template <class F>
bool PageTable::walk(void *n, int level, uint64_t base, uint64_t first, uint64_t last, F &f) {
  const int shift = kBits * (kLevels - 1 - level);
  // Only the slots that [first, last] reaches.
  const uint64_t span = static_cast<uint64_t>(kFan) << shift;  // what this node covers
  const int lo_i = first > base ? static_cast<int>((first - base) >> shift) : 0;
  const int hi_i = last - base >= span - 1 ? kFan - 1 : static_cast<int>((last - base) >> shift);
  if (level == kLevels - 1) {
    Leaf *l = static_cast<Leaf *>(n);
    for (int i = lo_i; i <= hi_i; i++) {
      if (!l->e[i]) continue;
      f(base + static_cast<uint64_t>(i), l->e[i]);
      if (!l->e[i]) {
        l->used--;
        entries_--;
      }
    }
    return l->used == 0;
  }
  Node *node = static_cast<Node *>(n);
  for (int i = lo_i; i <= hi_i; i++) {
    if (!node->slot[i]) continue;
    const uint64_t lo = base + (static_cast<uint64_t>(i) << shift);
    if (walk(node->slot[i], level + 1, lo, first, last, f) && holds_ == 0) {
      free_node(node->slot[i], level + 1);
      node->slot[i] = nullptr;
      node->used--;
    }
  }
  return node->used == 0;
}

template <class F>
void PageTable::each(uint64_t first, uint64_t last, F &&f) {
  constexpr uint64_t kTop = (1ull << (kBits * kLevels)) - 1;  // the last page a table holds
  if (first > last || first > kTop) return;
  if (last > kTop) last = kTop;
  walk(&root_, 0, 0, first, last, f);
}

}  // namespace vmspace
