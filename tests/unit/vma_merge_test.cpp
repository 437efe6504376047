// The merge engine (VmaSet: split, merge_new, merge_existing, modify) on layouts drawn as
// text, in the manner of Linux's tools/testing/vma: one character per page from kBase, '.'
// for a hole, a letter for each VMA (the same letter on consecutive pages is one VMA).
// Attributes are given per letter; the result is drawn back the same way, letters assigned
// in address order, with a second line for the protection of each page ('w' read-write,
// 'r' read-only, '-' none).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "vma/vma_set.hpp"

namespace vmspace {
namespace {

constexpr unsigned kShift = 12;
constexpr uint64_t P = 1ull << kShift;
constexpr uint64_t kBase = 0x100000;
constexpr uint64_t kRw = vm::read | vm::write | vm::mayread | vm::maywrite | vm::mayexec;
constexpr uint64_t kRo = vm::read | vm::mayread | vm::maywrite | vm::mayexec;

class TestFile : public MappedFile {
 public:
  explicit TestFile(uint64_t granule = 0) : granule_(granule) {}
  uint32_t dev_major() const override { return 8; }
  uint32_t dev_minor() const override { return 1; }
  uint64_t ino() const override { return 42; }
  std::string maps_path() const override { return "/f"; }
  uint64_t split_granule() const override { return granule_; }

 private:
  uint64_t granule_;
};

// What a letter stands for. pgoff: the page offset of the VMA's first page (-1: for
// anonymous memory, its address >> PAGE_SHIFT, as a fresh mapping has).
struct Attr {
  uint64_t flags = kRw;
  Ref<AnonVma> anon;
  bool has_parents = false;
  Ref<MappedFile> file;
  int64_t pgoff = -1;
};

class Layout {
 public:
  Layout() : set(kShift) {}
  ~Layout() = default;

  // Builds the layout `pic` with the attributes of each letter (default: read-write
  // anonymous memory without anon_vma).
  void draw(const std::string &pic, std::map<char, Attr> attrs = {}) {
    size_t i = 0;
    while (i < pic.size()) {
      if (pic[i] == '.') {
        i++;
        continue;
      }
      size_t j = i;
      while (j < pic.size() && pic[j] == pic[i]) j++;
      const Attr &a = attrs[pic[i]];
      Vma v;
      v.start = kBase + i * P;
      v.end = kBase + j * P;
      v.flags = a.flags;
      v.anon = a.anon;
      v.anon_has_parents = a.has_parents;
      v.file = a.file;
      v.vm_ops = a.file != nullptr;
      v.pgoff = a.pgoff >= 0 ? static_cast<uint64_t>(a.pgoff) : v.start >> kShift;
      set.link(set.alloc(v));
      i = j;
    }
  }

  // The layout as drawn: structure, then protection.
  std::string picture() const {
    std::string s;
    char letter = 'A';
    uint64_t at = kBase;
    for (const Vma *v = set.tree.first(); v; v = VmaTree::next(v)) {
      for (; at < v->start; at += P) s += '.';
      for (; at < v->end; at += P) s += letter;
      letter++;
    }
    return s;
  }
  std::string prot() const {
    std::string s;
    uint64_t at = kBase;
    for (const Vma *v = set.tree.first(); v; v = VmaTree::next(v)) {
      for (; at < v->start; at += P) s += ' ';
      const char c = (v->flags & vm::write) ? 'w' : (v->flags & vm::read) ? 'r' : '-';
      for (; at < v->end; at += P) s += c;
    }
    return s;
  }

  Vma *at(size_t page) const { return set.tree.find(kBase + page * P); }
  // A new range [first, first + n) pages with the attributes of `a` (merge_new).
  Vma *map(size_t first, size_t n, const Attr &a = {}) {
    VmaProposal p;
    p.start = kBase + first * P;
    p.end = p.start + n * P;
    p.flags = a.flags;
    p.file = a.file.get();
    p.anon = a.anon.get();
    p.anon_has_parents = a.has_parents;
    p.pgoff = a.pgoff >= 0 ? static_cast<uint64_t>(a.pgoff) : p.start >> kShift;
    Vma *next = set.tree.find(p.start);
    Vma *prev = next ? VmaTree::prev(next) : set.tree.last();
    if (Vma *m = set.merge_new(p, prev, next)) return m;
    Vma v;
    v.start = p.start;
    v.end = p.end;
    v.flags = p.flags;
    v.file = a.file;
    v.vm_ops = a.file != nullptr;
    v.anon = a.anon;
    v.anon_has_parents = a.has_parents;
    v.pgoff = p.pgoff;
    Vma *n_ = set.alloc(v);
    set.link(n_);
    return n_;
  }
  // Pages [first, first + n) of the VMA there take `flags` (vma_modify, as mprotect does).
  Result<void> change(size_t first, size_t n, uint64_t flags, int max_map_count = 65530) {
    Vma *v = at(first);
    VmaProposal p = set.proposal_of(*v, kBase + first * P, kBase + (first + n) * P);
    p.flags = flags;
    Vma *out = nullptr;
    VMS_TRY(set.modify(p, v, max_map_count, &out));
    out->flags = flags;
    return {};
  }
  void check() const {
    std::string why;
    EXPECT_TRUE(set.tree.validate(&why)) << why;
  }

  VmaSet set;
};

Attr ro() {
  Attr a;
  a.flags = kRo;
  return a;
}
Attr anon(uint64_t id, uint64_t flags = kRw) {
  Attr a;
  a.flags = flags;
  a.anon = make_ref<AnonVma>(id);
  return a;
}

// ---- merge_new: a new range next to existing VMAs ----

TEST(VmaMerge, NewRangeJoinsBothNeighbours) {
  Layout l;
  l.draw("AA.BB");
  //       AA.BB   map page 2
  //   ->  AAAAA
  l.map(2, 1);
  EXPECT_EQ(l.picture(), "AAAAA");
  EXPECT_EQ(l.set.map_count(), 1);
  l.check();
}

TEST(VmaMerge, NewRangeJoinsTheLeftWhenTheRightDiffers) {
  Layout l;
  l.draw("AA.BB", {{'B', ro()}});
  l.map(2, 1);
  EXPECT_EQ(l.picture(), "AAABB");
  EXPECT_EQ(l.prot(), "wwwrr");
  l.check();
}

TEST(VmaMerge, NewRangeJoinsTheRightWhenTheLeftDiffers) {
  Layout l;
  l.draw("AA.BB", {{'A', ro()}});
  l.map(2, 1);
  EXPECT_EQ(l.picture(), "AABBB");
  EXPECT_EQ(l.prot(), "rrwww");
  l.check();
}

TEST(VmaMerge, SpecialMappingsNeverMerge) {
  Layout l;
  Attr io;
  io.flags = kRw | vm::io;
  l.draw("AA.BB", {{'A', io}, {'B', io}});
  l.map(2, 1, io);
  EXPECT_EQ(l.picture(), "AABCC");
  l.check();
}

TEST(VmaMerge, FileRangesMergeOnlyAtContiguousOffsets) {
  Layout l;
  Attr f;
  f.file = make_ref<TestFile>();
  Attr a = f, b = f;
  a.pgoff = 0;   // pages 0-1 of the file
  b.pgoff = 10;  // pages 10-11
  l.draw("AA.BB", {{'A', a}, {'B', b}});
  Attr mid = f;
  mid.pgoff = 2;  // continues A, does not reach B (which would need pgoff 9)
  l.map(2, 1, mid);
  EXPECT_EQ(l.picture(), "AAABB");
  l.check();
}

TEST(VmaMerge, DifferentOpensOfOneFileDoNotMerge) {
  Layout l;
  Attr a, b;
  a.file = make_ref<TestFile>();
  b.file = make_ref<TestFile>();  // the same inode opened again: another struct file
  a.pgoff = 0;
  b.pgoff = 2;
  l.draw("AABB", {{'A', a}, {'B', b}});
  EXPECT_EQ(l.picture(), "AABB");
  Attr c = a;
  c.pgoff = 2;
  l.set.remove(l.at(2));
  l.map(2, 2, c);
  EXPECT_EQ(l.picture(), "AAAA");
  l.check();
}

// The history case: A and C were both faulted (two anon_vmas); a new range exactly in the hole
// between them may take either one, but not join both: Linux merges with the left only.
TEST(VmaMerge, HoleBetweenTwoAnonVmasMergesLeftOnly) {
  Layout l;
  l.draw("AA.CC", {{'A', anon(1)}, {'C', anon(2)}});
  //       AA.CC   (A: anon_vma 1, C: anon_vma 2)
  //   ->  AAABB   (A grows; C stays apart)
  Vma *m = l.map(2, 1);
  EXPECT_EQ(l.picture(), "AAABB");
  EXPECT_EQ(m->anon->id(), 1u);
  l.check();
}

TEST(VmaMerge, HoleBetweenVmasSharingAnAnonVmaMergesBoth) {
  Layout l;
  Attr shared = anon(7);
  l.draw("AA.CC", {{'A', shared}, {'C', shared}});
  l.map(2, 1);
  EXPECT_EQ(l.picture(), "AAAAA");
  l.check();
}

TEST(VmaMerge, AnonVmaSharedWithAForkParentKeepsItsVmaApart) {
  Layout l;
  Attr parent = anon(3);
  parent.has_parents = true;  // still shares pages with a fork parent
  l.draw("AA.", {{'A', parent}});
  // A fresh range (no anon_vma) may not join A: A would have to share its chain.
  l.map(2, 1);
  EXPECT_EQ(l.picture(), "AAB");
  l.check();
}

TEST(VmaMerge, SoftDirtyDoesNotKeepVmasApartAndSurvives) {
  Layout l;
  Attr dirty;
  dirty.flags = kRw | vm::softdirty;
  l.draw("AA.BB", {{'A', dirty}});
  Vma *m = l.map(2, 1);
  EXPECT_EQ(l.picture(), "AAAAA");
  EXPECT_TRUE(m->flags & vm::softdirty);
  l.check();
}

// ---- modify: part of a VMA takes new attributes ----

TEST(VmaMerge, ChangingTheMiddleSplitsInThree) {
  Layout l;
  l.draw("AAAAA");
  //       AAAAA   mprotect pages 1-2 read-only
  //   ->  ABBCC
  ASSERT_TRUE(l.change(1, 2, kRo));
  EXPECT_EQ(l.picture(), "ABBCC");
  EXPECT_EQ(l.prot(), "wrrww");
  EXPECT_EQ(l.set.map_count(), 3);
  l.check();
}

TEST(VmaMerge, ChangingTheLeftEndMergesIntoThePrevious) {
  Layout l;
  l.draw("AABBB", {{'A', ro()}});
  //       AABBB   (A read-only) B's first page read-only
  //   ->  AAABB
  ASSERT_TRUE(l.change(2, 1, kRo));
  EXPECT_EQ(l.picture(), "AAABB");
  EXPECT_EQ(l.prot(), "rrrww");
  EXPECT_EQ(l.at(3)->pgoff, (kBase >> kShift) + 3);  // B's remainder keeps its offsets
  l.check();
}

TEST(VmaMerge, ChangingTheRightEndMergesIntoTheNext) {
  Layout l;
  l.draw("AAABB", {{'B', ro()}});
  ASSERT_TRUE(l.change(2, 1, kRo));
  EXPECT_EQ(l.picture(), "AABBB");
  EXPECT_EQ(l.prot(), "wwrrr");
  EXPECT_EQ(l.at(2)->pgoff, (kBase >> kShift) + 2);
  l.check();
}

TEST(VmaMerge, ChangingAWholeVmaMergesAllThree) {
  Layout l;
  l.draw("ABBC", {{'A', ro()}, {'C', ro()}});
  //       ABBC    (A, C read-only) B read-only
  //   ->  AAAA
  ASSERT_TRUE(l.change(1, 2, kRo));
  EXPECT_EQ(l.picture(), "AAAA");
  EXPECT_EQ(l.set.map_count(), 1);
  l.check();
}

TEST(VmaMerge, ChangingAWholeVmaBetweenIncompatibleAnonVmasMergesLeftOnly) {
  Layout l;
  l.draw("ABBC", {{'A', anon(1, kRo)}, {'C', anon(2, kRo)}});
  ASSERT_TRUE(l.change(1, 2, kRo));
  EXPECT_EQ(l.picture(), "AAAB");
  l.check();
}

// ---- limits: vm.max_map_count and may_split ----

TEST(VmaMerge, SplitInThreeAtTheMapCountLimitFails) {
  Layout l;
  l.draw("AAAA.B");
  // Two VMAs, a limit of two: the first split is refused.
  EXPECT_EQ(l.change(1, 2, kRo, 2).error(), Errno::nomem);
  EXPECT_EQ(l.picture(), "AAAA.B");
  l.check();
}

TEST(VmaMerge, OneSidedSplitAtExactlyTheLimitFails) {
  Layout l;
  l.draw("AAAA.B");
  // The tail of A: one split, from 2 to 3 VMAs, with max_map_count 2 -> ENOMEM.
  EXPECT_EQ(l.change(2, 2, kRo, 2).error(), Errno::nomem);
  EXPECT_EQ(l.picture(), "AAAA.B");
  // One below the limit it works.
  ASSERT_TRUE(l.change(2, 2, kRo, 3));
  EXPECT_EQ(l.picture(), "AABB.C");
  l.check();
}

TEST(VmaMerge, SecondSplitFailingLeavesTheFirst) {
  Layout l;
  l.draw("AAAA");
  // Splitting in three needs two more VMAs; with a limit of two the split at the start is
  // made and the one at the end refused, as Linux leaves it.
  EXPECT_EQ(l.change(1, 2, kRo, 2).error(), Errno::nomem);
  EXPECT_EQ(l.picture(), "ABBB");
  EXPECT_EQ(l.prot(), "wwww");
  l.check();
}

TEST(VmaMerge, HugetlbSplitsOnlyAtHugePageBoundaries) {
  Layout l;
  Attr h;
  h.file = make_ref<TestFile>(4 * P);  // "huge pages" of four pages
  h.flags = kRw | vm::hugetlb;
  h.pgoff = 0;
  l.draw("AAAAAAAA", {{'A', h}});
  EXPECT_EQ(l.change(2, 2, kRo | vm::hugetlb).error(), Errno::inval);
  EXPECT_EQ(l.picture(), "AAAAAAAA");
  ASSERT_TRUE(l.change(4, 4, kRo | vm::hugetlb));
  EXPECT_EQ(l.picture(), "AAAABBBB");
  l.check();
}

TEST(VmaMerge, SplitKeepsFileOffsets) {
  Layout l;
  Attr f;
  f.file = make_ref<TestFile>();
  f.pgoff = 100;
  l.draw("AAAAAA", {{'A', f}});
  ASSERT_TRUE(l.change(2, 2, kRo));
  EXPECT_EQ(l.picture(), "AABBCC");
  EXPECT_EQ(l.at(0)->pgoff, 100u);
  EXPECT_EQ(l.at(2)->pgoff, 102u);
  EXPECT_EQ(l.at(4)->pgoff, 104u);
  // Changing the middle back merges the three again: the offsets are contiguous.
  ASSERT_TRUE(l.change(2, 2, kRw));
  EXPECT_EQ(l.picture(), "AAAAAA");
  l.check();
}

}  // namespace
}  // namespace vmspace
