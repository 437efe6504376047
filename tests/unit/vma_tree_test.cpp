// VmaTree against a brute-force model: random inserts, erases, range moves and gap searches,
// with validate() after every step.
#include "vma/vma_tree.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

namespace vmspace {
namespace {

constexpr uint64_t kPage = 4096;

struct Model {
  std::map<uint64_t, Vma *> by_start;

  // Brute force: the highest/lowest free range whose part in [low, high) holds size bytes.
  bool highest(uint64_t low, uint64_t high, uint64_t size, uint64_t *gs, uint64_t *ge) const {
    std::vector<std::pair<uint64_t, uint64_t>> gaps;  // [s, e), e == 0 means 2^64
    uint64_t cur = 0;
    for (auto &[s, v] : by_start) {
      if (v->start > cur) gaps.push_back({cur, v->start});
      cur = v->end;
    }
    gaps.push_back({cur, 0});
    for (auto it = gaps.rbegin(); it != gaps.rend(); ++it) {
      uint64_t s = std::max(it->first, low);
      uint64_t e = it->second == 0 ? high : std::min(it->second, high);
      if (e > s && e - s >= size) {
        *gs = s;
        *ge = e;
        return true;
      }
    }
    return false;
  }
  bool lowest(uint64_t low, uint64_t high, uint64_t size, uint64_t *gs, uint64_t *ge) const {
    uint64_t cur = 0;
    std::vector<std::pair<uint64_t, uint64_t>> gaps;
    for (auto &[s, v] : by_start) {
      if (v->start > cur) gaps.push_back({cur, v->start});
      cur = v->end;
    }
    gaps.push_back({cur, 0});
    for (auto &g : gaps) {
      uint64_t s = std::max(g.first, low);
      uint64_t e = g.second == 0 ? high : std::min(g.second, high);
      if (e > s && e - s >= size) {
        *gs = s;
        *ge = e;
        return true;
      }
    }
    return false;
  }
};

TEST(VmaTree, EmptyTree) {
  VmaTree t;
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_EQ(t.first(), nullptr);
  uint64_t s, e;
  ASSERT_TRUE(t.area_highest(0x10000, 0x7ffff7fff000, kPage, &s, &e));
  EXPECT_EQ(e, 0x7ffff7fff000u);
  ASSERT_TRUE(t.area_lowest(0x10000, 0x7ffff7fff000, kPage, &s, &e));
  EXPECT_EQ(s, 0x10000u);
  EXPECT_TRUE(t.validate(nullptr));
}

TEST(VmaTree, FindAndNeighbours) {
  VmaTree t;
  std::vector<std::unique_ptr<Vma>> vs;
  for (uint64_t i = 0; i < 100; i++) {
    auto v = std::make_unique<Vma>();
    v->start = 0x100000 + i * 3 * kPage;
    v->end = v->start + kPage;
    t.insert(v.get());
    vs.push_back(std::move(v));
  }
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << why;
  EXPECT_EQ(t.size(), 100u);
  EXPECT_EQ(t.find(0), vs[0].get());
  EXPECT_EQ(t.find(0x100000 + kPage), vs[1].get());  // in the gap: the next VMA
  EXPECT_EQ(t.find_intersection(0x100000 + kPage, 0x100000 + 3 * kPage), nullptr);
  EXPECT_EQ(t.find(vs[99]->end), nullptr);
  for (size_t i = 0; i + 1 < vs.size(); i++) {
    EXPECT_EQ(VmaTree::next(vs[i].get()), vs[i + 1].get());
    EXPECT_EQ(VmaTree::prev(vs[i + 1].get()), vs[i].get());
  }
  EXPECT_EQ(VmaTree::prev(vs[0].get()), nullptr);
  EXPECT_EQ(VmaTree::next(vs[99].get()), nullptr);
  uint64_t s, e;
  // Two free pages between VMAs, none of three pages below the top of the cluster.
  ASSERT_TRUE(t.area_highest(0x100000, vs[99]->end, 2 * kPage, &s, &e));
  EXPECT_EQ(e, vs[99]->start);
  EXPECT_EQ(s, vs[98]->end);
  EXPECT_FALSE(t.area_highest(0x100000, vs[99]->end, 3 * kPage, &s, &e));
}

TEST(VmaTree, RandomAgainstModel) {
  std::mt19937_64 rng(12345);
  VmaTree t;
  Model m;
  std::vector<std::unique_ptr<Vma>> pool;
  const uint64_t kSlots = 4000;  // address space of 4000 pages
  auto addr = [](uint64_t slot) { return 0x10000000 + slot * kPage; };
  for (int step = 0; step < 60000; step++) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5) {  // insert into a free range
      uint64_t slot = rng() % kSlots;
      uint64_t len = 1 + rng() % 4;
      uint64_t s = addr(slot), e = addr(slot + len);
      Vma *hit = t.find_intersection(s, e);
      auto it = m.by_start.lower_bound(s);
      bool model_hit = (it != m.by_start.end() && it->second->start < e) ||
                       (it != m.by_start.begin() && std::prev(it)->second->end > s);
      ASSERT_EQ(hit != nullptr, model_hit);
      if (!hit) {
        auto v = std::make_unique<Vma>();
        v->start = s;
        v->end = e;
        t.insert(v.get());
        m.by_start[s] = v.get();
        pool.push_back(std::move(v));
      }
    } else if (op < 8 && !m.by_start.empty()) {  // erase
      auto it = m.by_start.lower_bound(addr(rng() % kSlots));
      if (it == m.by_start.end()) it = m.by_start.begin();
      t.erase(it->second);
      m.by_start.erase(it);
    } else if (!m.by_start.empty()) {  // shrink or grow in place
      auto it = m.by_start.lower_bound(addr(rng() % kSlots));
      if (it == m.by_start.end()) continue;
      Vma *v = it->second;
      Vma *nx = VmaTree::next(v);
      uint64_t limit = nx ? nx->start : addr(kSlots + 8);
      uint64_t new_end = v->end;
      if (rng() % 2 && v->end - v->start > kPage)
        new_end -= kPage;
      else if (v->end < limit)
        new_end += kPage;
      t.set_range(v, v->start, new_end);
    }
    std::string why;
    ASSERT_TRUE(t.validate(&why)) << "step " << step << ": " << why;
    ASSERT_EQ(t.size(), m.by_start.size());
    if (step % 7 == 0) {
      uint64_t low = addr(rng() % kSlots), high = low + (1 + rng() % 2000) * kPage;
      uint64_t size = (1 + rng() % 6) * kPage;
      uint64_t a, b, c, d;
      bool r1 = t.area_highest(low, high, size, &a, &b);
      bool r2 = m.highest(low, high, size, &c, &d);
      ASSERT_EQ(r1, r2) << "highest step " << step;
      if (r1) {
        EXPECT_EQ(a, c);
        EXPECT_EQ(b, d);
      }
      r1 = t.area_lowest(low, high, size, &a, &b);
      r2 = m.lowest(low, high, size, &c, &d);
      ASSERT_EQ(r1, r2) << "lowest step " << step;
      if (r1) {
        EXPECT_EQ(a, c);
        EXPECT_EQ(b, d);
      }
    }
  }
  // Drain everything.
  while (!m.by_start.empty()) {
    auto it = m.by_start.begin();
    std::advance(it, static_cast<long>(rng() % m.by_start.size()));
    t.erase(it->second);
    m.by_start.erase(it);
    std::string why;
    ASSERT_TRUE(t.validate(&why)) << why;
  }
  EXPECT_TRUE(t.empty());
}

TEST(VmaTree, MillionEntriesStayShallow) {
  VmaTree t;
  std::vector<Vma> vs(200000);
  for (size_t i = 0; i < vs.size(); i++) {
    vs[i].start = 0x100000000 + i * 2 * kPage;
    vs[i].end = vs[i].start + kPage;
    t.insert(&vs[i]);
  }
  std::string why;
  ASSERT_TRUE(t.validate(&why)) << why;
  for (size_t i = 0; i < vs.size(); i += 2) t.erase(&vs[i]);
  ASSERT_TRUE(t.validate(&why)) << why;
  EXPECT_EQ(t.size(), vs.size() / 2);
  EXPECT_EQ(t.find(0), &vs[1]);
}

}  // namespace
}  // namespace vmspace

namespace vmspace {
namespace {

// replace() as splits and merges use it: runs of 1-3 neighbours become 1-3 VMAs covering the
// same range, across leaf boundaries too.
TEST(VmaTree, ReplaceRunsAgainstModel) {
  std::mt19937_64 rng(777);
  VmaTree t;
  std::vector<std::unique_ptr<Vma>> pool;
  std::map<uint64_t, Vma *> model;
  // 3000 adjacent one-page VMAs.
  for (uint64_t i = 0; i < 3000; i++) {
    auto v = std::make_unique<Vma>();
    v->start = 0x10000000 + i * kPage;
    v->end = v->start + kPage;
    t.insert(v.get());
    model[v->start] = v.get();
    pool.push_back(std::move(v));
  }
  for (int step = 0; step < 40000; step++) {
    auto it = model.lower_bound(0x10000000 + (rng() % 3000) * kPage);
    if (it == model.end()) it = model.begin();
    // A run of up to three consecutive VMAs.
    std::vector<Vma *> run;
    for (auto j = it; j != model.end() && run.size() < 1 + rng() % 3; ++j) run.push_back(j->second);
    uint64_t s = run.front()->start, e = run.back()->end;
    uint64_t pages = (e - s) / kPage;
    // Merge into one, or split into 2-3 pieces (reusing the old objects first).
    int n_new = pages >= 3 ? 1 + static_cast<int>(rng() % 3) : 1 + static_cast<int>(rng() % pages);
    std::vector<Vma *> news;
    for (int k = 0; k < n_new; k++) {
      if (k < static_cast<int>(run.size())) {
        news.push_back(run[k]);
      } else {
        pool.push_back(std::make_unique<Vma>());
        news.push_back(pool.back().get());
      }
    }
    uint64_t cur = s;
    for (int k = 0; k < n_new; k++) {
      uint64_t left = (e - cur) / kPage - static_cast<uint64_t>(n_new - 1 - k);
      uint64_t take = k == n_new - 1 ? (e - cur) / kPage : 1 + rng() % left;
      news[k]->start = cur;
      news[k]->end = cur + take * kPage;
      cur = news[k]->end;
    }
    for (auto j = model.lower_bound(s); j != model.end() && j->first < e;) j = model.erase(j);
    Vma *first = run.front();
    // run[0]'s start is still s, but its fields were rewritten if reused: the tree locates
    // the run through its leaf pointer, not its keys.
    t.replace(first, static_cast<int>(run.size()), news.data(), n_new);
    for (Vma *v : news) model[v->start] = v;
    std::string why;
    ASSERT_TRUE(t.validate(&why)) << "step " << step << ": " << why;
    ASSERT_EQ(t.size(), model.size());
  }
  // The tree still answers lookups like the model.
  for (auto &[s, v] : model) ASSERT_EQ(t.find(s), v);
}

}  // namespace
}  // namespace vmspace
