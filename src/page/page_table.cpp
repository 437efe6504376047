#include "page/page_table.hpp"

#include <new>

#include "page/frames.hpp"

namespace vmspace {

PageTable::~PageTable() {
  for (int i = 0; i < kFan; i++)
    if (root_.slot[i]) free_node(root_.slot[i], 1);
}

void PageTable::release_leaf(void *slot) {
  Leaf *l = leaf_ptr(slot);
  if (l->sharers.load(std::memory_order_acquire) != 1 && !shares_->drop_sharer(l)) return;
  // The last table that holds it: its entries' frame references are this table's to give
  // back (an address space zaps its entries first, so there are none as a rule).
  if (l->used && frames_)
    for (uint64_t x : l->e)
      if (x & pte::present) frames_->unmap_put(pte::frame(x));
  delete l;
  if (meter_) meter_->charge(-static_cast<int64_t>(sizeof(Leaf)));
}

void PageTable::free_node(void *n, int level) {
  tables_--;
  if (level == kLevels - 1) {
    release_leaf(n);
    return;
  }
  Node *node = static_cast<Node *>(n);
  for (int i = 0; i < kFan; i++)
    if (node->slot[i]) free_node(node->slot[i], level + 1);
  delete node;
  if (meter_) meter_->charge(-static_cast<int64_t>(sizeof(Leaf)));
}

void **PageTable::leaf_slot_ref(uint64_t vpn) const {
  const Node *n = &root_;
  for (int level = 0; level < kLevels - 2; level++) {
    n = static_cast<const Node *>(n->slot[idx(vpn, level)]);
    if (!n) return nullptr;
  }
  return const_cast<void **>(&n->slot[idx(vpn, kLevels - 2)]);
}

PageTable::Leaf *PageTable::own_leaf(void *&slot) {
  Leaf *l = leaf_ptr(slot);
  const bool old = old_view(slot);
  if (l->sharers.load(std::memory_order_acquire) == 1) {
    if (old) {
      // The other tables let go of it: this one's view becomes the entries themselves.
      for (uint64_t &x : l->e) x &= ~kYoung;
      slot = l;
    }
    return l;
  }
  // A copy of its own: no refusal by the meter (the fork that shared the leaf would have
  // needed the table anyway).
  Leaf *c = new Leaf;
  if (meter_) meter_->charge(sizeof(Leaf));
  c->used = l->used;
  for (int i = 0; i < kFan; i++) {
    uint64_t x = l->e[i];
    if (!x) continue;
    if (old) x &= ~kYoung;
    c->e[i] = x;
    if (x & pte::present) frames_->get_mapped(pte::frame(x));
  }
  slot = c;
  if (shares_->drop_sharer(l)) {
    // The others let go meanwhile: the old leaf's references go with it.
    for (uint64_t x : l->e)
      if (x & pte::present) frames_->unmap_put(pte::frame(x));
    delete l;
    if (meter_) meter_->charge(-static_cast<int64_t>(sizeof(Leaf)));
  }
  return c;
}

uint64_t *PageTable::find(uint64_t vpn) {
  void **r = leaf_slot_ref(vpn);
  if (!r || !*r) return nullptr;
  return &own_leaf(*r)->e[idx(vpn, kLevels - 1)];
}

PageTable::Leaf *PageTable::leaf_of(uint64_t vpn) {
  void **r = leaf_slot_ref(vpn);
  if (!r || !*r) return nullptr;
  return own_leaf(*r);
}

bool PageTable::leaf_shared(uint64_t vpn) const {
  const void *slot = leaf_slot(vpn);
  return slot && leaf_ptr(slot)->sharers.load(std::memory_order_acquire) != 1;
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
      Leaf *l = own_leaf(slot);
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

bool PageTable::share_leaf(PageTable &from, uint64_t vpn) {
  if (!frames_ || !shares_ || from.shares_ != shares_) return false;
  void **fs = from.leaf_slot_ref(vpn);
  if (!fs || !*fs) return false;
  Leaf *l = leaf_ptr(*fs);
  Node *n = &root_;
  for (int level = 0; level < kLevels - 2; level++) {
    void *&slot = n->slot[idx(vpn, level)];
    if (!slot) {
      if (meter_ && meter_->refuse(sizeof(Leaf))) throw std::bad_alloc();
      slot = new Node;
      n->used++;
      tables_++;
      if (meter_) meter_->charge(sizeof(Leaf));
    }
    n = static_cast<Node *>(slot);
  }
  void *&slot = n->slot[idx(vpn, kLevels - 2)];
  if (slot) return false;  // a table here already: the caller copies entries
  shares_->add_sharer(l);
  slot = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(l) | kOldTag);
  n->used++;
  tables_++;
  entries_ += static_cast<uint64_t>(l->used);
  return true;
}

void PageTable::leave_shared(uint64_t vpn, bool drop_table) {
  Node *n = &root_;
  for (int level = 0; level < kLevels - 2 && n; level++)
    n = static_cast<Node *>(n->slot[idx(vpn, level)]);
  if (!n) return;
  void *&slot = n->slot[idx(vpn, kLevels - 2)];
  if (!slot) return;
  Leaf *l = leaf_ptr(slot);
  entries_ -= static_cast<uint64_t>(l->used);
  if (drop_table) {
    slot = nullptr;
    n->used--;
    tables_--;
  } else {
    slot = new Leaf;
    if (meter_) meter_->charge(sizeof(Leaf));
  }
  if (l->sharers.load(std::memory_order_acquire) == 1 || shares_->drop_sharer(l)) {
    // Nobody else holds it (any more): its references go now.
    for (uint64_t x : l->e)
      if (x & pte::present) frames_->unmap_put(pte::frame(x));
    delete l;
    if (meter_) meter_->charge(-static_cast<int64_t>(sizeof(Leaf)));
  }
}

bool PageTable::free_empty(void *n, int level, uint64_t base, uint64_t first, uint64_t last,
                           uint64_t floor, uint64_t ceiling) {
  if (level == kLevels - 1) return leaf_ptr(n)->used == 0;
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
  if (!slot || leaf_ptr(slot)->used != 0) return false;
  free_node(slot, kLevels - 1);
  slot = nullptr;
  n->used--;
  return true;
}

void PageTable::clear(uint64_t vpn) {
  each(vpn, vpn, [](uint64_t, uint64_t &e) { e = 0; });
}

void LeafShares::add_sharer(PageTable::Leaf *l) {
  std::lock_guard<std::mutex> g(mu_);
  if (l->sharers.fetch_add(1, std::memory_order_acq_rel) == 1) {
    leaves_.insert(l);
    count_.store(leaves_.size(), std::memory_order_release);
  }
}

bool LeafShares::drop_sharer(PageTable::Leaf *l) {
  std::lock_guard<std::mutex> g(mu_);
  const int left = l->sharers.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (left == 1) {
    leaves_.erase(l);
    count_.store(leaves_.size(), std::memory_order_release);
  }
  return left == 0;
}

void LeafShares::extra_maps(std::unordered_map<uint32_t, uint32_t> &out,
                            const std::unordered_set<uint32_t> *want) const {
  std::lock_guard<std::mutex> g(mu_);
  for (const PageTable::Leaf *l : leaves_) {
    const uint32_t more = static_cast<uint32_t>(l->sharers.load(std::memory_order_acquire) - 1);
    for (uint64_t x : l->e) {
      if (!(x & pte::present)) continue;
      const uint32_t f = pte::frame(x);
      if (!want || want->count(f)) out[f] += more;
    }
  }
}

}  // namespace vmspace
