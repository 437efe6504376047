// VmaTree: the ordered set of VMAs of one address space (Linux: the maple tree mm->mm_mt).
//
// A B+tree keyed by address whose nodes keep, for every child, the first start, the last end
// and the largest free gap between VMAs inside it. That augmentation makes every operation
// O(log n) in the number of VMAs, the free-gap searches of get_unmapped_area included, with
// few cache misses (fan-out 16, so a million VMAs is five levels deep).
//
// Synopsis
//   Vma *find(addr)                    first VMA with end > addr            (Linux: find_vma)
//   Vma *find_intersection(s, e)       first VMA overlapping [s, e)         (find_vma_intersection)
//   Vma *next(v), *prev(v)             neighbours in address order          (vma_next / vma_prev)
//   insert(v), erase(v)                v's [start, end) must not overlap another VMA
//   set_range(v, s, e)                 move v's bounds in place; order must not change
//   area_highest/area_lowest(...)      free-gap search (mas_empty_area_rev / mas_empty_area)
//   validate()                         invariant check for tests and fuzzing
//
// The tree stores pointers; the caller owns the Vma objects and keeps them alive while they
// are in the tree. Nothing here allocates except node splits, which take nodes reserve()
// set aside (and ask the host, which may throw bad_alloc, only beyond that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/pool.hpp"
#include "vma/vma.hpp"

namespace vmspace {

class VmaTree {
 public:
  static constexpr int kFan = 32;  // entries per node

  VmaTree() = default;
  VmaTree(const VmaTree &) = delete;
  VmaTree &operator=(const VmaTree &) = delete;
  ~VmaTree();

  size_t size() const { return size_; }
  // Tree nodes are charged to `m` from now on; bytes(): the memory they hold.
  void set_meter(MemoryMeter *m) {
    leaves_.set_meter(m);
    inners_.set_meter(m);
  }
  size_t bytes() const { return leaves_.bytes() + inners_.bytes(); }
  bool empty() const { return size_ == 0; }

  Vma *find(uint64_t addr) const;
  Vma *find_intersection(uint64_t start, uint64_t end) const;
  Vma *first() const;
  Vma *last() const;
  static Vma *next(const Vma *v);
  static Vma *prev(const Vma *v);

  // Makes sure n insertions (replace()'s included) need no memory from the host; false when
  // the host has none.
  [[nodiscard]] bool reserve(int n);
  void insert(Vma *v);
  void erase(Vma *v);
  void set_range(Vma *v, uint64_t start, uint64_t end);
  // Replaces the n_old consecutive VMAs starting at `first` by the n_new VMAs in `news` (in
  // address order, their start and end already set; they may include old ones). Old VMAs not
  // among the new ones leave the tree. This is how splits and merges change the tree: one
  // leaf update and one propagation in the common case.
  void replace(Vma *first, int n_old, Vma *const *news, int n_new);
  // Removes every VMA from the tree (the Vma objects themselves are not touched).
  void clear();

  // Free-gap search over the whole 64-bit space (the gap above the last VMA runs to 2^64).
  // Finds the highest (lowest) free range whose part inside [low, high) is at least `size`
  // bytes, and stores that part in [*gap_start, *gap_end). Returns false when none exists.
  bool area_highest(uint64_t low, uint64_t high, uint64_t size, uint64_t *gap_start,
                    uint64_t *gap_end) const;
  bool area_lowest(uint64_t low, uint64_t high, uint64_t size, uint64_t *gap_start,
                   uint64_t *gap_end) const;

  // Checks every structural invariant; on failure describes the first problem in *why.
  bool validate(std::string *why) const;

 private:
  struct Inner;
  struct Node {
    bool leaf;
    uint16_t n = 0;     // number of entries
    uint16_t pidx = 0;  // index in parent
    Inner *parent = nullptr;
    uint64_t agg = 0;   // the largest free gap inside this node (between its entries, deeper)
    uint64_t lo[kFan];  // start of each entry (leaf) or first start of each child (inner)
    uint64_t hi[kFan];  // end of each entry (leaf) or last end of each child (inner)
    explicit Node(bool is_leaf) : leaf(is_leaf) {}
  };
  struct Leaf : Node {
    Vma *v[kFan];
    Leaf *prev = nullptr;
    Leaf *next = nullptr;
    Leaf() : Node(true) {}
  };
  struct Inner : Node {
    uint64_t gap[kFan];  // largest free gap inside each child
    Node *c[kFan];
    Inner() : Node(false) {}
  };
  static constexpr int kMin = kFan / 4;

  static uint64_t node_gap(const Node *n);
  // The largest gap among entries [a, b] of n: between-entry gaps at a..b, child gaps a..b-1.
  static uint64_t window(const Node *n, int a, int b);
  // Updates n->agg after a change confined to a window whose maximum went from old_w to new_w;
  // rescans the node only when the maximum may have moved.
  static void settle(Node *n, uint64_t old_w, uint64_t new_w);
  static void refresh(Node *n) { n->agg = node_gap(n); }
  static int leaf_index(const Leaf *l, const Vma *v);
  void fix_up(Node *n);
  void set_child(Inner *p, int i, Node *c);
  void insert_child(Node *left, Node *right);
  void remove_child(Inner *p, int idx);
  void rebalance(Node *n);
  void free_node(Node *n);
  Leaf *new_leaf();
  Inner *new_inner();
  void drop(Leaf *l);
  void drop(Inner *in);
  bool search_high(const Node *n, uint64_t low, uint64_t high, uint64_t size, uint64_t *gs,
                   uint64_t *ge) const;
  bool search_low(const Node *n, uint64_t low, uint64_t high, uint64_t size, uint64_t *gs,
                  uint64_t *ge) const;
  bool validate_node(const Node *n, int depth, int *leaf_depth, std::string *why) const;

  Pool<Leaf> leaves_;
  Pool<Inner> inners_;
  Node *root_ = nullptr;
  Leaf *head_ = nullptr;
  Leaf *tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vmspace
