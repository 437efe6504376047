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
//
// A leaf table is its 512 entries and nothing else (4 KiB, as the kernel's PTE page); its
// count of non-empty entries lives in the middle table above it.
//
// Leaf tables copied lazily: fork may give the child the parent's leaf table itself (share)
// instead of a copy whose frames each take a reference. A shared leaf holds one reference
// and one mapping per entry for all the tables that hold it, and nobody changes it: the first
// table that changes an entry of it takes a copy of its own (taking a reference and a mapping
// for each present entry then), the last one left keeps it. Pointers to a shared leaf carry a
// tag (the number of tables that hold it is in LeafShares); the child sees the entries old
// (Linux's copy_present_pte clears the accessed bit in the child's copy), through a second
// tag on its pointer. What changes nothing (get, each_read, each_table, has_table) reads
// a shared leaf; everything else (find, set, clear, each, prepare, leaf_entries) copies it
// first. Map counts of frames in shared leaves miss the sharers beyond the first: callers
// that need the kernel's count (smaps' PSS) add LeafShares::extra_maps.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

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

class FramePool;
class LeafShares;

class PageTable {
 public:
  // With frames and shares, leaves can be shared (share_leaf); without, they never are.
  explicit PageTable(MemoryMeter *meter = nullptr, FramePool *frames = nullptr,
                     LeafShares *shares = nullptr)
      : meter_(meter), frames_(frames), shares_(shares) {}
  ~PageTable();
  PageTable(const PageTable &) = delete;
  PageTable &operator=(const PageTable &) = delete;

  // The entry of virtual page vpn, or 0.
  uint64_t get(uint64_t vpn) const {
    const void *slot = leaf_slot(vpn);
    if (!slot) return 0;
    const uint64_t e = leaf_ptr(slot)->e[vpn & (kFan - 1)];
    return old_view(slot) ? e & ~kYoung : e;
  }
  // Whether a leaf table holds vpn's entry (Linux: !pmd_none).
  bool has_table(uint64_t vpn) const { return leaf_slot(vpn) != nullptr; }
  // A pointer to the entry, to change it (null when no table holds it yet). A shared leaf is
  // copied first.
  uint64_t *find(uint64_t vpn);
  // Makes the leaf table holding vpn this table's own (copies a shared one; no-op without a
  // table): afterwards the frames' reference and map counts of its entries are exact as far
  // as they decide whether this table is a frame's only user.
  void own(uint64_t vpn) { (void)find(vpn); }
  // Sets an entry (allocating tables; throws std::bad_alloc when the host has no memory or the
  // meter no room).
  void set(uint64_t vpn, uint64_t e);
  // Makes sure the tables for vpn exist, so that a later set(vpn, ...) cannot fail (throws
  // std::bad_alloc like set()).
  void prepare(uint64_t vpn) {
    if (!find(vpn)) {
      set(vpn, pte::guard);  // any non-empty value builds the path
      *find(vpn) = 0;
      leaf_parent(vpn)->leaf_used[idx(vpn, kLevels - 2)]--;
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
  // afterwards when they empty). Shared leaves in the range are copied first.
  template <class F>
  void each(uint64_t first, uint64_t last, F &&f);
  // Calls f(vpn, entry) for every non-empty entry with vpn in [first, last], in order,
  // changing nothing (shared leaves are read where they are).
  template <class F>
  void each_read(uint64_t first, uint64_t last, F &&f) const;

  // ---- lazily copied leaves (fork) ----
  // Whether the leaf table holding vpn is shared with another page table.
  bool leaf_shared(uint64_t vpn) const;
  // Gives this table the leaf of `from` that holds vpn (from's table; this one has none
  // there yet), seen old. Entries and tables count as this table's; the frames' counts do
  // not change. False when leaves cannot be shared (no FramePool or LeafShares).
  bool share_leaf(PageTable &from, uint64_t vpn);
  // Lets go of the shared leaf holding vpn without touching its entries' frames (the other
  // tables keep them): an empty table of its own takes its place, or none with `drop_table`.
  // The caller accounts the entries it loses (RSS counters).
  void leave_shared(uint64_t vpn, bool drop_table);

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
  uint64_t *leaf_entries(uint64_t vpn) {
    Leaf *l = leaf_of(vpn);
    return l ? l->e : nullptr;
  }
  // The same entries to read only, as stored (a shared leaf's accessed bits are the first
  // holder's: get() and each_read() show a child's view), or null.
  const uint64_t *leaf_entries_read(uint64_t vpn) const {
    const void *slot = leaf_slot(vpn);
    return slot ? leaf_ptr(slot)->e : nullptr;
  }
  // n entries of vpn's leaf table went from empty to non-empty through leaf_entries.
  void note_set(uint64_t vpn, uint64_t n) {
    if (!n) return;
    leaf_parent(vpn)->leaf_used[idx(vpn, kLevels - 2)] += static_cast<uint16_t>(n);
    entries_ += n;
  }
  // Entries of the leaf table holding vpn (0 without one).
  int leaf_used(uint64_t vpn) const {
    const Node *n = leaf_parent(vpn);
    return n && n->slot[idx(vpn, kLevels - 2)] ? n->leaf_used[idx(vpn, kLevels - 2)] : 0;
  }
  // Bytes of page tables (Linux: mm_pgtables_bytes, VmPTE): the leaf and middle tables.
  uint64_t table_bytes() const { return tables_ * 4096; }
  uint64_t entries() const { return entries_; }

 private:
  friend class LeafShares;
  static constexpr int kBits = 9, kFan = 1 << kBits, kLevels = 4;
  static_assert(kLeafSpan == 1ull << kBits);
  static constexpr uint64_t kYoung = 8;  // pte::young (the child's view of a shared leaf)
  struct Node {
    int used = 0;  // non-empty slots
    void *slot[kFan] = {};
    // In the middle tables right above the leaves: each leaf's non-empty entries (as this
    // table sees it).
    uint16_t leaf_used[kFan] = {};
  };
  struct Leaf {
    uint64_t e[kFan] = {};
  };
  static_assert(sizeof(Leaf) == 4096);
  static constexpr int64_t kNodeBytes = sizeof(Node);  // what the meter is charged for one
  // Tags of a pointer to a leaf: seen old; shared (or was: LeafShares knows how many hold it).
  static constexpr uintptr_t kOldTag = 1, kSharedTag = 2, kTags = 3;
  static Leaf *leaf_ptr(const void *slot) {
    return reinterpret_cast<Leaf *>(reinterpret_cast<uintptr_t>(slot) & ~kTags);
  }
  static bool old_view(const void *slot) { return reinterpret_cast<uintptr_t>(slot) & kOldTag; }
  static bool shared_tag(const void *slot) {
    return reinterpret_cast<uintptr_t>(slot) & kSharedTag;
  }
  // The middle table whose slots hold vpn's leaf (null when there is none).
  Node *leaf_parent(uint64_t vpn) const;
  const void *leaf_slot(uint64_t vpn) const {
    const Node *n = leaf_parent(vpn);
    return n ? n->slot[idx(vpn, kLevels - 2)] : nullptr;
  }
  // The leaf in `slot`, made this table's own (copied when shared, its old view applied).
  Leaf *own_leaf(void *&slot);
  void release_leaf(void *slot);  // frees it, or lets go of it when shared
  // Whether a leaf pointer tagged shared is still held by another table.
  bool still_shared(const void *slot) const;
  static unsigned idx(uint64_t vpn, int level) {
    return static_cast<unsigned>(vpn >> (kBits * (kLevels - 1 - level))) & (kFan - 1);
  }
  void free_node(void *n, int level);
  // free_range below node n (covering from base at level); true when n is now empty.
  bool free_empty(Node *n, int level, uint64_t base, uint64_t first, uint64_t last, uint64_t floor,
                  uint64_t ceiling);
  Leaf *leaf_of(uint64_t vpn);  // made this table's own
  template <class F>
  bool walk(Node *n, int level, uint64_t base, uint64_t first, uint64_t last, F &f);

  MemoryMeter *meter_;
  FramePool *frames_;
  LeafShares *shares_;
  Node root_;
  int holds_ = 0;
  uint64_t tables_ = 0;   // tables below the root
  uint64_t entries_ = 0;  // non-empty entries
};

template <class F>
bool PageTable::walk(Node *node, int level, uint64_t base, uint64_t first, uint64_t last, F &f) {
  const int shift = kBits * (kLevels - 1 - level);  // pages one slot of this node covers
  // Only the slots that [first, last] reaches.
  const uint64_t span = static_cast<uint64_t>(kFan) << shift;  // what this node covers
  const int lo_i = first > base ? static_cast<int>((first - base) >> shift) : 0;
  const int hi_i = last - base >= span - 1 ? kFan - 1 : static_cast<int>((last - base) >> shift);
  for (int i = lo_i; i <= hi_i; i++) {
    if (!node->slot[i]) continue;
    const uint64_t lo = base + (static_cast<uint64_t>(i) << shift);
    bool empty;
    if (level == kLevels - 2) {
      // The slot holds a leaf: its entries, counted here.
      Leaf *l = own_leaf(node->slot[i]);
      const int a = first > lo ? static_cast<int>(first - lo) : 0;
      const int b = last - lo >= kFan - 1 ? kFan - 1 : static_cast<int>(last - lo);
      for (int j = a; j <= b; j++) {
        if (!l->e[j]) continue;
        f(lo + static_cast<uint64_t>(j), l->e[j]);
        if (!l->e[j]) {
          node->leaf_used[i]--;
          entries_--;
        }
      }
      empty = node->leaf_used[i] == 0;
    } else {
      empty = walk(static_cast<Node *>(node->slot[i]), level + 1, lo, first, last, f);
    }
    if (empty && holds_ == 0) {
      free_node(node->slot[i], level + 1);
      node->slot[i] = nullptr;
      node->leaf_used[i] = 0;
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

template <class F>
void PageTable::each_read(uint64_t first, uint64_t last, F &&f) const {
  constexpr uint64_t kTop = (1ull << (kBits * kLevels)) - 1;
  if (first > last || first > kTop) return;
  if (last > kTop) last = kTop;
  each_table(first, last, [&](uint64_t t) {
    const void *slot = leaf_slot(t);
    const Leaf *l = leaf_ptr(slot);
    const uint64_t mask = old_view(slot) ? ~kYoung : ~0ull;
    const uint64_t lo = first > t ? first - t : 0;
    const uint64_t hi = last - t >= kLeafSpan - 1 ? kLeafSpan - 1 : last - t;
    for (uint64_t i = lo; i <= hi; i++)
      if (const uint64_t e = l->e[i]) f(t + i, e & mask);
  });
}

// The leaves shared between page tables (fork's lazy copies): how many tables hold each, and
// for the map counts smaps needs, what they map. One registry per System. A leaf is listed
// while two or more tables hold it; nobody changes a listed leaf.
class LeafShares {
 public:
  // Whether any leaf is shared now.
  bool any() const { return count_.load(std::memory_order_acquire) != 0; }
  // For every frame mapped by a shared leaf, the mappings its map count does not show (a
  // shared leaf counts once, its tables map the frame once each); frames of `want` only when
  // that is not null.
  void extra_maps(std::unordered_map<uint32_t, uint32_t> &out,
                  const std::unordered_set<uint32_t> *want = nullptr) const;

 private:
  friend class PageTable;
  // One table more holds l (a table that holds it already shares it).
  void add_sharer(const void *l);
  // One table less holds l; true when it was the last (l is then the caller's to free).
  bool drop_sharer(const void *l);
  // The tables that hold l (1 when it is not listed).
  int holders(const void *l) const;
  mutable std::mutex mu_;
  std::unordered_map<const void *, int> holders_;
  std::atomic<size_t> count_{0};
};

}  // namespace vmspace
