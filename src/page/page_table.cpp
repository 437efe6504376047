#include "page/page_table.hpp"

#include <new>

namespace vmspace {

PageTable::~PageTable() {
  for (int i = 0; i < kFan; i++)
    if (root_.slot[i]) free_node(root_.slot[i], 1);
}

void PageTable::free_node(void *n, int level) {
  if (level == kLevels - 1) {
    delete static_cast<Leaf *>(n);
  } else {
    Node *node = static_cast<Node *>(n);
    for (int i = 0; i < kFan; i++)
      if (node->slot[i]) free_node(node->slot[i], level + 1);
    delete node;
  }
  tables_--;
  if (meter_) meter_->charge(-static_cast<int64_t>(sizeof(Leaf)));
}

uint64_t *PageTable::find(uint64_t vpn) const {
  const Node *n = &root_;
  for (int level = 0; level < kLevels - 1; level++) {
    void *next = n->slot[idx(vpn, level)];
    if (!next) return nullptr;
    if (level == kLevels - 2) return &static_cast<Leaf *>(next)->e[idx(vpn, kLevels - 1)];
    n = static_cast<const Node *>(next);
  }
  return nullptr;
}

PageTable::Leaf *PageTable::leaf_of(uint64_t vpn) const {
  const Node *n = &root_;
  for (int level = 0; level < kLevels - 2; level++) {
    n = static_cast<const Node *>(n->slot[idx(vpn, level)]);
    if (!n) return nullptr;
  }
  return static_cast<Leaf *>(n->slot[idx(vpn, kLevels - 2)]);
}

void PageTable::set(uint64_t vpn, uint64_t e) {
  if (!e) {
    clear(vpn);
    return;
  }
  Node *n = &root_;
  for (int level = 0; level < kLevels - 1; level++) {
    void *&slot = n->slot[idx(vpn, level)];
    if (!slot) {
      if (meter_ && meter_->refuse(sizeof(Leaf))) throw std::bad_alloc();
      if (level == kLevels - 2)
        slot = new Leaf;
      else
        slot = new Node;
      n->used++;
      tables_++;
      if (meter_) meter_->charge(sizeof(Leaf));
    }
    if (level == kLevels - 2) {
      Leaf *l = static_cast<Leaf *>(slot);
      uint64_t &x = l->e[idx(vpn, kLevels - 1)];
      if (!x) {
        l->used++;
        entries_++;
      }
      x = e;
      return;
    }
    n = static_cast<Node *>(slot);
  }
}

bool PageTable::free_empty(void *n, int level, uint64_t base, uint64_t first, uint64_t last,
                           uint64_t floor, uint64_t ceiling) {
  if (level == kLevels - 1) return static_cast<Leaf *>(n)->used == 0;
  Node *node = static_cast<Node *>(n);
  const int shift = kBits * (kLevels - 2 - level);  // what one slot of this node covers
  const uint64_t span = 1ull << shift;
  for (int i = 0; i < kFan; i++) {
    if (!node->slot[i]) continue;
    const uint64_t lo = base + (static_cast<uint64_t>(i) << shift), hi = lo + span;  // [lo, hi)
    if (hi <= first || lo > last) continue;
    const bool empty = free_empty(node->slot[i], level + 1, lo, first, last, floor, ceiling);
    if (empty && lo >= floor && (ceiling == 0 || hi <= ceiling)) {
      free_node(node->slot[i], level + 1);
      node->slot[i] = nullptr;
      node->used--;
    }
  }
  return node->used == 0;
}

void PageTable::free_range(uint64_t first, uint64_t last, uint64_t floor, uint64_t ceiling) {
  if (first > last) return;
  free_empty(&root_, 0, 0, first, last, floor, ceiling);
}

bool PageTable::free_leaf(uint64_t vpn) {
  Node *n = &root_;
  for (int level = 0; level < kLevels - 2; level++) {
    n = static_cast<Node *>(n->slot[idx(vpn, level)]);
    if (!n) return false;
  }
  void *&slot = n->slot[idx(vpn, kLevels - 2)];
  if (!slot || static_cast<Leaf *>(slot)->used != 0) return false;
  free_node(slot, kLevels - 1);
  slot = nullptr;
  n->used--;
  return true;
}

void PageTable::clear(uint64_t vpn) {
  each(vpn, vpn, [](uint64_t, uint64_t &e) { e = 0; });
}

}  // namespace vmspace
