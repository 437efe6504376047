#include "page/page_table.hpp"

#include <new>

#include "page/frames.hpp"

namespace vmspace {

PageTable::~PageTable() {
  for (int i = 0; i < kFan; i++)
    if (root_.slot[i]) free_node(root_.slot[i], 1);
}

bool PageTable::still_shared(const void *slot) const {
  return shared_tag(slot) && shares_->holders(leaf_ptr(slot)) > 1;
}

void PageTable::release_leaf(void *slot) {
  Leaf *l = leaf_ptr(slot);
  if (shared_tag(slot)) {
    if (!shares_->drop_sharer(l)) return;
    // The last table that holds a leaf once shared: its entries' frame references are this
    // table's to give back (its address space did not zap them, counting on the others).
    for (uint64_t x : l->e)
      if (x & pte::present) frames_->unmap_put(pte::frame(x));
  }
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
  if (meter_) meter_->charge(-kNodeBytes);
}

PageTable::Node *PageTable::leaf_parent(uint64_t vpn) const {
  const Node *n = &root_;
  for (int level = 0; level < kLevels - 2 && n; level++)
    n = static_cast<const Node *>(n->slot[idx(vpn, level)]);
  return const_cast<Node *>(n);
}

PageTable::Leaf *PageTable::own_leaf(void *&slot) {
  Leaf *l = leaf_ptr(slot);
  if (!(reinterpret_cast<uintptr_t>(slot) & kTags)) return l;  // the common case
  const bool old = old_view(slot);
  if (!still_shared(slot)) {
    // The other tables let go of it: this one's view becomes the entries themselves.
    if (old)
      for (uint64_t &x : l->e) x &= ~kYoung;
    slot = l;
    return l;
  }
  // A copy of its own: no refusal by the meter (the fork that shared the leaf would have
  // needed the table anyway).
  Leaf *c = new Leaf;
  if (meter_) meter_->charge(sizeof(Leaf));
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
  Node *n = leaf_parent(vpn);
  if (!n) return nullptr;
  void *&slot = n->slot[idx(vpn, kLevels - 2)];
  if (!slot) return nullptr;
  return &own_leaf(slot)->e[idx(vpn, kLevels - 1)];
}

PageTable::Leaf *PageTable::leaf_of(uint64_t vpn) {
  Node *n = leaf_parent(vpn);
  if (!n) return nullptr;
  void *&slot = n->slot[idx(vpn, kLevels - 2)];
  return slot ? own_leaf(slot) : nullptr;
}

bool PageTable::leaf_shared(uint64_t vpn) const {
  const void *slot = leaf_slot(vpn);
  return slot && still_shared(slot);
}

void PageTable::set(uint64_t vpn, uint64_t e) {
  if (!e) {
    clear(vpn);
    return;
  }
  Node *n = &root_;
  for (int level = 0; level < kLevels - 1; level++) {
    const unsigned i = idx(vpn, level);
    void *&slot = n->slot[i];
    if (!slot) {
      const bool leaf = level == kLevels - 2;
      const int64_t bytes = leaf ? static_cast<int64_t>(sizeof(Leaf)) : kNodeBytes;
      if (meter_ && meter_->refuse(static_cast<uint64_t>(bytes))) throw std::bad_alloc();
      if (leaf)
        slot = new Leaf;
      else
        slot = new Node;
      n->used++;
      tables_++;
      if (meter_) meter_->charge(bytes);
    }
    if (level == kLevels - 2) {
      uint64_t &x = own_leaf(slot)->e[idx(vpn, kLevels - 1)];
      if (!x) {
        n->leaf_used[i]++;
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
  Node *fn = from.leaf_parent(vpn);
  const unsigned i = idx(vpn, kLevels - 2);
  if (!fn || !fn->slot[i]) return false;
  Node *n = &root_;
  for (int level = 0; level < kLevels - 2; level++) {
    void *&slot = n->slot[idx(vpn, level)];
    if (!slot) {
      if (meter_ && meter_->refuse(kNodeBytes)) throw std::bad_alloc();
      slot = new Node;
      n->used++;
      tables_++;
      if (meter_) meter_->charge(kNodeBytes);
    }
    n = static_cast<Node *>(slot);
  }
  if (n->slot[i]) return false;  // a table here already: the caller copies entries
  Leaf *l = leaf_ptr(fn->slot[i]);
  shares_->add_sharer(l);
  fn->slot[i] = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(fn->slot[i]) | kSharedTag);
  n->slot[i] = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(l) | kSharedTag | kOldTag);
  n->leaf_used[i] = fn->leaf_used[i];
  n->used++;
  tables_++;
  entries_ += n->leaf_used[i];
  return true;
}

void PageTable::leave_shared(uint64_t vpn, bool drop_table) {
  Node *n = leaf_parent(vpn);
  const unsigned i = idx(vpn, kLevels - 2);
  if (!n || !n->slot[i]) return;
  void *const was = n->slot[i];
  entries_ -= n->leaf_used[i];
  n->leaf_used[i] = 0;
  if (drop_table) {
    n->slot[i] = nullptr;
    n->used--;
    tables_--;
  } else {
    n->slot[i] = new Leaf;
    if (meter_) meter_->charge(sizeof(Leaf));
  }
  release_leaf(was);  // frees it when nobody else holds it (any more), with its references
}

bool PageTable::free_empty(Node *node, int level, uint64_t base, uint64_t first, uint64_t last,
                           uint64_t floor, uint64_t ceiling) {
  const int shift = kBits * (kLevels - 1 - level);  // what one slot of this node covers
  const uint64_t span = 1ull << shift;
  for (int i = 0; i < kFan; i++) {
    if (!node->slot[i]) continue;
    const uint64_t lo = base + (static_cast<uint64_t>(i) << shift), hi = lo + span;  // [lo, hi)
    if (hi <= first || lo > last) continue;
    const bool empty = level == kLevels - 2
                           ? node->leaf_used[i] == 0
                           : free_empty(static_cast<Node *>(node->slot[i]), level + 1, lo, first,
                                        last, floor, ceiling);
    if (empty && lo >= floor && (ceiling == 0 || hi <= ceiling)) {
      free_node(node->slot[i], level + 1);
      node->slot[i] = nullptr;
      node->leaf_used[i] = 0;
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
  Node *n = leaf_parent(vpn);
  const unsigned i = idx(vpn, kLevels - 2);
  if (!n || !n->slot[i] || n->leaf_used[i] != 0) return false;
  free_node(n->slot[i], kLevels - 1);
  n->slot[i] = nullptr;
  n->used--;
  return true;
}

void PageTable::clear(uint64_t vpn) {
  each(vpn, vpn, [](uint64_t, uint64_t &e) { e = 0; });
}

void LeafShares::add_sharer(const void *l) {
  std::lock_guard<std::mutex> g(mu_);
  int &n = holders_[l];
  n = n ? n + 1 : 2;
  count_.store(holders_.size(), std::memory_order_release);
}

bool LeafShares::drop_sharer(const void *l) {
  std::lock_guard<std::mutex> g(mu_);
  const auto it = holders_.find(l);
  if (it == holders_.end()) return true;  // the others went: it was the caller's alone
  if (--it->second <= 1) {
    holders_.erase(it);
    count_.store(holders_.size(), std::memory_order_release);
  }
  return false;
}

int LeafShares::holders(const void *l) const {
  std::lock_guard<std::mutex> g(mu_);
  const auto it = holders_.find(l);
  return it == holders_.end() ? 1 : it->second;
}

void LeafShares::extra_maps(std::unordered_map<uint32_t, uint32_t> &out,
                            const std::unordered_set<uint32_t> *want) const {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto &[leaf, n] : holders_) {
    const uint32_t more = static_cast<uint32_t>(n - 1);
    for (uint64_t x : static_cast<const PageTable::Leaf *>(leaf)->e) {
      if (!(x & pte::present)) continue;
      const uint32_t f = pte::frame(x);
      if (!want || want->count(f)) out[f] += more;
    }
  }
}

}  // namespace vmspace
