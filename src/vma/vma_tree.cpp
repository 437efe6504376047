// VmaTree: a gap-augmented B+tree of VMAs. See vma_tree.hpp for the contract.
//
// Invariants (checked by validate()):
//  - all leaves are at the same depth and linked in address order (head_ .. tail_);
//  - entries are sorted, start < end, and end <= start of the next entry;
//  - every inner node holds, per child, the child's first start (lo), last end (hi) and the
//    largest gap between two entries inside it (gap); node_gap() recomputes that from a node;
//  - every node but the root holds at least one entry; children know their parent and index.
#include "vma/vma_tree.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace vmspace {

namespace {
// The part of [gs, ge) inside [low, high), if it holds `size` bytes.
inline bool clip_fits(uint64_t gs, uint64_t ge, uint64_t low, uint64_t high, uint64_t size,
                      uint64_t *out_s, uint64_t *out_e) {
  uint64_t s = std::max(gs, low);
  uint64_t e = std::min(ge, high);
  if (e <= s || e - s < size) return false;
  *out_s = s;
  *out_e = e;
  return true;
}
}  // namespace

uint64_t VmaTree::node_gap(const Node *n) {
  uint64_t g = 0;
  for (int i = 1; i < n->n; i++) g = std::max(g, n->lo[i] - n->hi[i - 1]);
  if (!n->leaf) {
    const Inner *in = static_cast<const Inner *>(n);
    for (int i = 0; i < n->n; i++) g = std::max(g, in->gap[i]);
  }
  return g;
}

uint64_t VmaTree::window(const Node *n, int a, int b) {
  uint64_t g = 0;
  int lo_k = a < 1 ? 1 : a, hi_k = b > n->n - 1 ? n->n - 1 : b;
  for (int k = lo_k; k <= hi_k; k++) g = std::max(g, n->lo[k] - n->hi[k - 1]);
  if (!n->leaf) {
    const Inner *in = static_cast<const Inner *>(n);
    int e = b > n->n ? n->n : b;
    for (int k = a < 0 ? 0 : a; k < e; k++) g = std::max(g, in->gap[k]);
  }
  return g;
}

void VmaTree::settle(Node *n, uint64_t old_w, uint64_t new_w) {
  if (new_w >= old_w || old_w < n->agg)
    n->agg = std::max(n->agg, new_w);
  else
    n->agg = node_gap(n);
}

int VmaTree::leaf_index(const Leaf *l, const Vma *v) {
  for (int i = 0; i < l->n; i++)
    if (l->v[i] == v) return i;
  return -1;
}

// Propagates the aggregates of `n` to its ancestors, stopping as soon as nothing changes.
void VmaTree::fix_up(Node *n) {
  while (n->parent) {
    Inner *p = n->parent;
    int i = n->pidx;
    uint64_t lo = n->lo[0], hi = n->hi[n->n - 1], gap = n->agg;
    if (p->lo[i] == lo && p->hi[i] == hi && p->gap[i] == gap) return;
    uint64_t old_w = window(p, i, i + 1);
    p->lo[i] = lo;
    p->hi[i] = hi;
    p->gap[i] = gap;
    settle(p, old_w, window(p, i, i + 1));
    n = p;
  }
}

void VmaTree::set_child(Inner *p, int i, Node *c) {
  p->c[i] = c;
  c->parent = p;
  c->pidx = static_cast<uint16_t>(i);
  p->lo[i] = c->lo[0];
  p->hi[i] = c->hi[c->n - 1];
  p->gap[i] = c->agg;
}

Vma *VmaTree::find(uint64_t addr) const {
  const Node *n = root_;
  if (!n) return nullptr;
  for (;;) {
    int i = 0;
    while (i < n->n && n->hi[i] <= addr) i++;
    if (i == n->n) return nullptr;
    if (n->leaf) {
      const Leaf *l = static_cast<const Leaf *>(n);
      // Callers nearly always go on to the VMA's neighbours (merging, splitting): fetch all
      // three at once instead of one cache miss after the other.
      for (int k = i > 0 ? i - 1 : 0; k <= i + 1 && k < l->n; k++) {
        __builtin_prefetch(l->v[k]);
        __builtin_prefetch(reinterpret_cast<const char *>(l->v[k]) + sizeof(Vma) - 1);
      }
      return l->v[i];
    }
    n = static_cast<const Inner *>(n)->c[i];
  }
}

Vma *VmaTree::find_intersection(uint64_t start, uint64_t end) const {
  Vma *v = find(start);
  return (v && v->start < end) ? v : nullptr;
}

Vma *VmaTree::first() const { return head_ ? head_->v[0] : nullptr; }
Vma *VmaTree::last() const { return tail_ ? tail_->v[tail_->n - 1] : nullptr; }

Vma *VmaTree::next(const Vma *v) {
  const Leaf *l = static_cast<const Leaf *>(v->leaf_);
  int i = leaf_index(l, v);
  if (i + 1 < l->n) return l->v[i + 1];
  return l->next ? l->next->v[0] : nullptr;
}

Vma *VmaTree::prev(const Vma *v) {
  const Leaf *l = static_cast<const Leaf *>(v->leaf_);
  int i = leaf_index(l, v);
  if (i > 0) return l->v[i - 1];
  return l->prev ? l->prev->v[l->prev->n - 1] : nullptr;
}

void VmaTree::insert(Vma *v) {
  size_++;
  if (!root_) {
    Leaf *l = new_leaf();
    l->n = 1;
    l->lo[0] = v->start;
    l->hi[0] = v->end;
    l->v[0] = v;
    v->leaf_ = l;
    root_ = head_ = tail_ = l;
    return;
  }
  Node *n = root_;
  while (!n->leaf) {
    int i = n->n - 1;
    while (i > 0 && n->lo[i] > v->start) i--;
    n = static_cast<Inner *>(n)->c[i];
  }
  Leaf *l = static_cast<Leaf *>(n);
  int pos = 0;
  while (pos < l->n && l->lo[pos] < v->start) pos++;

  if (l->n == kFan) {
    // Split: the upper half moves to a new right sibling.
    Leaf *r = new_leaf();
    int half = kFan / 2;
    r->n = static_cast<uint16_t>(kFan - half);
    std::memcpy(r->lo, l->lo + half, sizeof(uint64_t) * r->n);
    std::memcpy(r->hi, l->hi + half, sizeof(uint64_t) * r->n);
    std::memcpy(r->v, l->v + half, sizeof(Vma *) * r->n);
    for (int i = 0; i < r->n; i++) r->v[i]->leaf_ = r;
    l->n = static_cast<uint16_t>(half);
    r->next = l->next;
    r->prev = l;
    if (l->next)
      l->next->prev = r;
    else
      tail_ = r;
    l->next = r;
    refresh(l);
    refresh(r);
    insert_child(l, r);
    if (pos > half) {
      pos -= half;
      l = r;
    }
  }
  uint64_t old_w = window(l, pos, pos);
  std::memmove(l->lo + pos + 1, l->lo + pos, sizeof(uint64_t) * (l->n - pos));
  std::memmove(l->hi + pos + 1, l->hi + pos, sizeof(uint64_t) * (l->n - pos));
  std::memmove(l->v + pos + 1, l->v + pos, sizeof(Vma *) * (l->n - pos));
  l->lo[pos] = v->start;
  l->hi[pos] = v->end;
  l->v[pos] = v;
  l->n++;
  v->leaf_ = l;
  settle(l, old_w, window(l, pos, pos + 1));
  fix_up(l);
}

// Inserts `right` into the parent of `left`, just after it, splitting upwards as needed.
void VmaTree::insert_child(Node *left, Node *right) {
  Inner *p = left->parent;
  if (!p) {
    Inner *root = new_inner();
    root->n = 2;
    set_child(root, 0, left);
    set_child(root, 1, right);
    refresh(root);
    root_ = root;
    return;
  }
  int idx = left->pidx + 1;
  if (p->n == kFan) {
    Inner *q = new_inner();
    int half = kFan / 2;
    q->n = static_cast<uint16_t>(kFan - half);
    for (int i = 0; i < q->n; i++) set_child(q, i, p->c[half + i]);
    p->n = static_cast<uint16_t>(half);
    refresh(p);
    refresh(q);
    insert_child(p, q);
    if (idx > half) {
      idx -= half;
      p = q;
    }
  }
  for (int i = p->n; i > idx; i--) {
    p->c[i] = p->c[i - 1];
    p->lo[i] = p->lo[i - 1];
    p->hi[i] = p->hi[i - 1];
    p->gap[i] = p->gap[i - 1];
    p->c[i]->pidx = static_cast<uint16_t>(i);
  }
  p->n++;
  set_child(p, idx, right);
  set_child(p, left->pidx, left);  // left may have shrunk (it was just split)
  refresh(p);
  fix_up(p);
}

void VmaTree::erase(Vma *v) {
  Leaf *l = static_cast<Leaf *>(v->leaf_);
  int i = leaf_index(l, v);
  uint64_t old_w = window(l, i, i + 1);
  std::memmove(l->lo + i, l->lo + i + 1, sizeof(uint64_t) * (l->n - i - 1));
  std::memmove(l->hi + i, l->hi + i + 1, sizeof(uint64_t) * (l->n - i - 1));
  std::memmove(l->v + i, l->v + i + 1, sizeof(Vma *) * (l->n - i - 1));
  l->n--;
  v->leaf_ = nullptr;
  size_--;
  if (l->n == 0) {
    if (l == root_) {
      drop(l);
      root_ = nullptr;
      head_ = tail_ = nullptr;
      return;
    }
    if (l->prev)
      l->prev->next = l->next;
    else
      head_ = l->next;
    if (l->next)
      l->next->prev = l->prev;
    else
      tail_ = l->prev;
    Inner *p = l->parent;
    int idx = l->pidx;
    drop(l);
    remove_child(p, idx);
    return;
  }
  settle(l, old_w, window(l, i, i));
  fix_up(l);
  if (l->n < kMin) rebalance(l);
}

// Removes child `idx` (already freed or moved) from inner node p.
void VmaTree::remove_child(Inner *p, int idx) {
  for (int i = idx; i + 1 < p->n; i++) {
    p->c[i] = p->c[i + 1];
    p->lo[i] = p->lo[i + 1];
    p->hi[i] = p->hi[i + 1];
    p->gap[i] = p->gap[i + 1];
    p->c[i]->pidx = static_cast<uint16_t>(i);
  }
  p->n--;
  if (p->n) refresh(p);
  if (p == root_) {
    // A root with a single child is redundant: the child becomes the root.
    while (!root_->leaf && root_->n == 1) {
      Inner *old = static_cast<Inner *>(root_);
      root_ = old->c[0];
      root_->parent = nullptr;
      root_->pidx = 0;
      drop(old);
    }
    return;
  }
  if (p->n == 0) {
    Inner *pp = p->parent;
    int pidx = p->pidx;
    drop(p);
    remove_child(pp, pidx);
    return;
  }
  fix_up(p);
  if (p->n < kMin) rebalance(p);
}

// Refills an underfull non-root node from a sibling, merging the two when they fit in one.
void VmaTree::rebalance(Node *n) {
  Inner *p = n->parent;
  if (!p || p->n < 2) return;
  int idx = n->pidx;
  Node *left, *right;
  if (idx + 1 < p->n) {
    left = n;
    right = p->c[idx + 1];
  } else {
    left = p->c[idx - 1];
    right = n;
  }
  int total = left->n + right->n;
  if (n->leaf) {
    Leaf *l = static_cast<Leaf *>(left), *r = static_cast<Leaf *>(right);
    if (total <= kFan) {
      std::memcpy(l->lo + l->n, r->lo, sizeof(uint64_t) * r->n);
      std::memcpy(l->hi + l->n, r->hi, sizeof(uint64_t) * r->n);
      std::memcpy(l->v + l->n, r->v, sizeof(Vma *) * r->n);
      for (int i = 0; i < r->n; i++) r->v[i]->leaf_ = l;
      l->n = static_cast<uint16_t>(total);
      l->next = r->next;
      if (r->next)
        r->next->prev = l;
      else
        tail_ = l;
      int ridx = r->pidx;
      drop(r);
      refresh(l);
      fix_up(l);
      remove_child(p, ridx);
      return;
    }
    // Even out the two leaves.
    int want_left = total / 2;
    if (l->n < want_left) {
      int k = want_left - l->n;
      std::memcpy(l->lo + l->n, r->lo, sizeof(uint64_t) * k);
      std::memcpy(l->hi + l->n, r->hi, sizeof(uint64_t) * k);
      std::memcpy(l->v + l->n, r->v, sizeof(Vma *) * k);
      for (int i = 0; i < k; i++) l->v[l->n + i]->leaf_ = l;
      std::memmove(r->lo, r->lo + k, sizeof(uint64_t) * (r->n - k));
      std::memmove(r->hi, r->hi + k, sizeof(uint64_t) * (r->n - k));
      std::memmove(r->v, r->v + k, sizeof(Vma *) * (r->n - k));
      l->n = static_cast<uint16_t>(l->n + k);
      r->n = static_cast<uint16_t>(r->n - k);
    } else {
      int k = l->n - want_left;
      std::memmove(r->lo + k, r->lo, sizeof(uint64_t) * r->n);
      std::memmove(r->hi + k, r->hi, sizeof(uint64_t) * r->n);
      std::memmove(r->v + k, r->v, sizeof(Vma *) * r->n);
      std::memcpy(r->lo, l->lo + want_left, sizeof(uint64_t) * k);
      std::memcpy(r->hi, l->hi + want_left, sizeof(uint64_t) * k);
      std::memcpy(r->v, l->v + want_left, sizeof(Vma *) * k);
      for (int i = 0; i < k; i++) r->v[i]->leaf_ = r;
      l->n = static_cast<uint16_t>(want_left);
      r->n = static_cast<uint16_t>(r->n + k);
    }
    refresh(l);
    refresh(r);
    fix_up(l);
    fix_up(r);
    return;
  }
  Inner *l = static_cast<Inner *>(left), *r = static_cast<Inner *>(right);
  if (total <= kFan) {
    int base = l->n;
    for (int i = 0; i < r->n; i++) set_child(l, base + i, r->c[i]);
    l->n = static_cast<uint16_t>(total);
    int ridx = r->pidx;
    drop(r);
    refresh(l);
    fix_up(l);
    remove_child(p, ridx);
    return;
  }
  int want_left = total / 2;
  Node *tmp[2 * kFan];
  int k = 0;
  for (int i = 0; i < l->n; i++) tmp[k++] = l->c[i];
  for (int i = 0; i < r->n; i++) tmp[k++] = r->c[i];
  l->n = static_cast<uint16_t>(want_left);
  r->n = static_cast<uint16_t>(total - want_left);
  for (int i = 0; i < want_left; i++) set_child(l, i, tmp[i]);
  for (int i = want_left; i < total; i++) set_child(r, i - want_left, tmp[i]);
  refresh(l);
  refresh(r);
  fix_up(l);
  fix_up(r);
}

void VmaTree::set_range(Vma *v, uint64_t start, uint64_t end) {
  Leaf *l = static_cast<Leaf *>(v->leaf_);
  int i = leaf_index(l, v);
  uint64_t old_w = window(l, i, i + 1);
  l->lo[i] = start;
  l->hi[i] = end;
  v->start = start;
  v->end = end;
  settle(l, old_w, window(l, i, i + 1));
  fix_up(l);
}

void VmaTree::free_node(Node *n) {
  if (!n->leaf) {
    Inner *in = static_cast<Inner *>(n);
    for (int i = 0; i < in->n; i++) free_node(in->c[i]);
    drop(in);
  } else {
    drop(static_cast<Leaf *>(n));  // the Vma objects belong to the caller
  }
}

VmaTree::~VmaTree() { clear(); }

bool VmaTree::reserve(int n) {
  // An insertion splits at most one leaf and every inner node above it, and may add a root.
  // The common case, decided without walking the tree: room for trees of up to 7 levels
  // (16^7 VMAs and more).
  const size_t k = static_cast<size_t>(n);
  if (leaves_.available() >= k && inners_.available() >= 8 * k) return true;
  int height = 1;
  for (const Node *c = root_; c && !c->leaf; c = static_cast<const Inner *>(c)->c[0]) height++;
  return leaves_.reserve(k) && inners_.reserve(k * static_cast<size_t>(height + 1));
}

VmaTree::Leaf *VmaTree::new_leaf() { return leaves_.make(); }
VmaTree::Inner *VmaTree::new_inner() { return inners_.make(); }
void VmaTree::drop(Leaf *l) { leaves_.destroy(l); }
void VmaTree::drop(Inner *in) { inners_.destroy(in); }

void VmaTree::replace(Vma *first, int n_old, Vma *const *news, int n_new) {
  Leaf *l = static_cast<Leaf *>(first->leaf_);
  int i = leaf_index(l, first);
  int n = l->n - n_old + n_new;
  if (i + n_old <= l->n && n > 0 && n <= kFan) {
    uint64_t old_w = window(l, i, i + n_old);
    for (int k = 0; k < n_old; k++) l->v[i + k]->leaf_ = nullptr;
    int tail = l->n - i - n_old;
    if (n_new != n_old) {
      std::memmove(l->lo + i + n_new, l->lo + i + n_old, sizeof(uint64_t) * tail);
      std::memmove(l->hi + i + n_new, l->hi + i + n_old, sizeof(uint64_t) * tail);
      std::memmove(l->v + i + n_new, l->v + i + n_old, sizeof(Vma *) * tail);
    }
    for (int k = 0; k < n_new; k++) {
      l->lo[i + k] = news[k]->start;
      l->hi[i + k] = news[k]->end;
      l->v[i + k] = news[k];
      news[k]->leaf_ = l;
    }
    l->n = static_cast<uint16_t>(n);
    size_ = size_ - static_cast<size_t>(n_old) + static_cast<size_t>(n_new);
    settle(l, old_w, window(l, i, i + n_new));
    fix_up(l);
    if (l->n < kMin) rebalance(l);
    return;
  }
  // The run crosses into the next leaf: put the new entries into whichever of the two leaves
  // can take them and cut the old ones out of the other (no entry-by-entry rebalancing, which
  // would move the leaf boundary along with a caller walking the address space).
  if (i + n_old > l->n && l->next) {
    Leaf *b = l->next;
    int in_a = l->n - i, in_b = n_old - in_a;
    if (in_b > 0 && in_b <= b->n && n_new > 0) {
      int na = i + n_new, nb = b->n - in_b;
      bool into_a = na <= kFan && nb > 0;
      bool into_b = !into_a && i > 0 && b->n - in_b + n_new <= kFan;
      if (into_a || into_b) {
        uint64_t old_wa = window(l, i, l->n), old_wb = window(b, 0, in_b);
        for (int k = i; k < l->n; k++) l->v[k]->leaf_ = nullptr;
        for (int k = 0; k < in_b; k++) b->v[k]->leaf_ = nullptr;
        if (into_a) {
          for (int k = 0; k < n_new; k++) {
            l->lo[i + k] = news[k]->start;
            l->hi[i + k] = news[k]->end;
            l->v[i + k] = news[k];
            news[k]->leaf_ = l;
          }
          l->n = static_cast<uint16_t>(na);
          std::memmove(b->lo, b->lo + in_b, sizeof(uint64_t) * nb);
          std::memmove(b->hi, b->hi + in_b, sizeof(uint64_t) * nb);
          std::memmove(b->v, b->v + in_b, sizeof(Vma *) * nb);
          b->n = static_cast<uint16_t>(nb);
          settle(l, old_wa, window(l, i, na));
          settle(b, old_wb, window(b, 0, 0));
        } else {
          int tail = b->n - in_b;
          std::memmove(b->lo + n_new, b->lo + in_b, sizeof(uint64_t) * tail);
          std::memmove(b->hi + n_new, b->hi + in_b, sizeof(uint64_t) * tail);
          std::memmove(b->v + n_new, b->v + in_b, sizeof(Vma *) * tail);
          for (int k = 0; k < n_new; k++) {
            b->lo[k] = news[k]->start;
            b->hi[k] = news[k]->end;
            b->v[k] = news[k];
            news[k]->leaf_ = b;
          }
          b->n = static_cast<uint16_t>(tail + n_new);
          l->n = static_cast<uint16_t>(i);
          settle(l, old_wa, window(l, i, i));
          settle(b, old_wb, window(b, 0, n_new));
        }
        size_ = size_ - static_cast<size_t>(n_old) + static_cast<size_t>(n_new);
        fix_up(l);
        fix_up(b);
        if (b->n < kMin)
          rebalance(b);
        else if (l->n < kMin)
          rebalance(l);
        return;
      }
    }
  }
  // The run spans more leaves or does not fit: one entry at a time.
  Vma *olds[8];
  Vma *v = first;
  for (int k = 0; k < n_old; k++) {
    olds[k] = v;
    v = next(v);
  }
  for (int k = 0; k < n_old; k++) erase(olds[k]);
  for (int k = 0; k < n_new; k++) insert(news[k]);
}

void VmaTree::clear() {
  if (root_) free_node(root_);
  root_ = nullptr;
  head_ = tail_ = nullptr;
  size_ = 0;
}

bool VmaTree::search_high(const Node *n, uint64_t low, uint64_t high, uint64_t size, uint64_t *gs,
                          uint64_t *ge) const {
  if (n->leaf) {
    for (int j = n->n - 1; j >= 1; j--) {
      if (clip_fits(n->hi[j - 1], n->lo[j], low, high, size, gs, ge)) return true;
      if (n->hi[j - 1] <= low) return false;
    }
    return false;
  }
  const Inner *in = static_cast<const Inner *>(n);
  for (int i = in->n - 1; i >= 0; i--) {
    if (i + 1 < in->n && clip_fits(in->hi[i], in->lo[i + 1], low, high, size, gs, ge)) return true;
    if (in->gap[i] >= size && in->lo[i] < high && in->hi[i] > low &&
        search_high(in->c[i], low, high, size, gs, ge))
      return true;
    if (in->lo[i] <= low) return false;
  }
  return false;
}

bool VmaTree::search_low(const Node *n, uint64_t low, uint64_t high, uint64_t size, uint64_t *gs,
                         uint64_t *ge) const {
  if (n->leaf) {
    for (int j = 1; j < n->n; j++) {
      if (clip_fits(n->hi[j - 1], n->lo[j], low, high, size, gs, ge)) return true;
      if (n->lo[j] >= high) return false;
    }
    return false;
  }
  const Inner *in = static_cast<const Inner *>(n);
  for (int i = 0; i < in->n; i++) {
    if (in->gap[i] >= size && in->lo[i] < high && in->hi[i] > low &&
        search_low(in->c[i], low, high, size, gs, ge))
      return true;
    if (i + 1 < in->n && clip_fits(in->hi[i], in->lo[i + 1], low, high, size, gs, ge)) return true;
    if (in->hi[i] >= high) return false;
  }
  return false;
}

bool VmaTree::area_highest(uint64_t low, uint64_t high, uint64_t size, uint64_t *gap_start,
                           uint64_t *gap_end) const {
  if (high <= low || high - low < size) return false;
  if (!root_) return clip_fits(0, high, low, high, size, gap_start, gap_end);
  // The gap above the last VMA runs to the end of the 64-bit space.
  if (clip_fits(root_->hi[root_->n - 1], high, low, high, size, gap_start, gap_end)) return true;
  if (search_high(root_, low, high, size, gap_start, gap_end)) return true;
  return clip_fits(0, root_->lo[0], low, high, size, gap_start, gap_end);
}

bool VmaTree::area_lowest(uint64_t low, uint64_t high, uint64_t size, uint64_t *gap_start,
                          uint64_t *gap_end) const {
  if (high <= low || high - low < size) return false;
  if (!root_) return clip_fits(0, high, low, high, size, gap_start, gap_end);
  if (clip_fits(0, root_->lo[0], low, high, size, gap_start, gap_end)) return true;
  if (search_low(root_, low, high, size, gap_start, gap_end)) return true;
  uint64_t top = root_->hi[root_->n - 1];
  return clip_fits(top, std::max(top, high), low, high, size, gap_start, gap_end);
}

bool VmaTree::validate_node(const Node *n, int depth, int *leaf_depth, std::string *why) const {
  if (n->n == 0 || n->n > kFan) {
    *why = "node entry count out of range";
    return false;
  }
  for (int i = 0; i < n->n; i++) {
    if (n->lo[i] >= n->hi[i]) {
      *why = "entry with start >= end";
      return false;
    }
    if (i > 0 && n->hi[i - 1] > n->lo[i]) {
      *why = "entries overlap or are out of order";
      return false;
    }
  }
  if (n->agg != node_gap(n)) {
    *why = "stale node aggregate";
    return false;
  }
  if (n->leaf) {
    if (*leaf_depth < 0) *leaf_depth = depth;
    if (*leaf_depth != depth) {
      *why = "leaves at different depths";
      return false;
    }
    const Leaf *l = static_cast<const Leaf *>(n);
    for (int i = 0; i < l->n; i++) {
      if (l->v[i]->leaf_ != l || l->v[i]->start != l->lo[i] || l->v[i]->end != l->hi[i]) {
        *why = "leaf entry disagrees with its Vma";
        return false;
      }
    }
    return true;
  }
  const Inner *in = static_cast<const Inner *>(n);
  for (int i = 0; i < in->n; i++) {
    const Node *c = in->c[i];
    if (c->parent != in || c->pidx != i) {
      *why = "child parent link broken";
      return false;
    }
    if (in->lo[i] != c->lo[0] || in->hi[i] != c->hi[c->n - 1] || in->gap[i] != node_gap(c)) {
      *why = "stale augmentation";
      return false;
    }
    if (!validate_node(c, depth + 1, leaf_depth, why)) return false;
  }
  return true;
}

bool VmaTree::validate(std::string *why) const {
  std::string dummy;
  if (!why) why = &dummy;
  if (!root_) {
    if (size_ != 0 || head_ || tail_) {
      *why = "empty tree with entries";
      return false;
    }
    return true;
  }
  if (root_->parent) {
    *why = "root has a parent";
    return false;
  }
  int leaf_depth = -1;
  if (!validate_node(root_, 0, &leaf_depth, why)) return false;
  size_t count = 0;
  const Leaf *prev = nullptr;
  uint64_t last_end = 0;
  for (const Leaf *l = head_; l; l = l->next) {
    if (l->prev != prev) {
      *why = "leaf list back link broken";
      return false;
    }
    if (prev && last_end > l->lo[0]) {
      *why = "leaves out of order";
      return false;
    }
    count += l->n;
    last_end = l->hi[l->n - 1];
    prev = l;
  }
  if (prev != tail_ || count != size_) {
    *why = "leaf list does not cover the tree";
    return false;
  }
  return true;
}

}  // namespace vmspace
