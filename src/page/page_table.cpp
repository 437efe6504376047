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

void PageTable::clear(uint64_t vpn) {
  each(vpn, vpn, [](uint64_t, uint64_t &e) { e = 0; });
}

}  // namespace vmspace
