// PageTable's lazily copied leaves (fork): white-box, with the frame counts they promise.
#include "page/page_table.hpp"

#include <gtest/gtest.h>

#include <unordered_map>

#include "base/meter.hpp"
#include "page/frames.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kPresentAnon = pte::present | pte::anon | pte::cow | pte::dirty;

struct Fixture {
  MemoryMeter meter;
  FramePool frames{4096, 64ull << 20, &meter};
  LeafShares shares;
  // An entry for a fresh frame whose one reference and mapping the table holds.
  uint64_t mapped_frame(uint64_t bits) {
    const uint32_t f = frames.alloc();
    frames.map(f);
    return pte::make(f, bits);
  }
};

TEST(PageTableShare, ChildSeesTheEntriesOldAndFramesCountOnce) {
  Fixture x;
  PageTable parent(&x.meter, &x.frames, &x.shares), child(&x.meter, &x.frames, &x.shares);
  const uint64_t e = x.mapped_frame(kPresentAnon | pte::young);
  parent.set(512, e);
  parent.set(513, pte::guard);
  ASSERT_TRUE(child.share_leaf(parent, 512));
  EXPECT_TRUE(parent.leaf_shared(512));
  EXPECT_TRUE(x.shares.any());
  EXPECT_EQ(parent.get(512), e);
  EXPECT_EQ(child.get(512), e & ~pte::young);  // old in the child
  EXPECT_EQ(child.get(513), pte::guard);
  EXPECT_EQ(child.entries(), 2u);
  EXPECT_EQ(child.table_bytes(), parent.table_bytes());
  const uint32_t f = pte::frame(e);
  EXPECT_EQ(x.frames.refs(f), 1u);
  EXPECT_EQ(x.frames.mapcount(f), 1u);
  std::unordered_map<uint32_t, uint32_t> extra;
  x.shares.extra_maps(extra);
  EXPECT_EQ(extra[f], 1u);  // one mapping besides the one counted
  int seen = 0;
  child.each_read(0, ~0ull, [&](uint64_t vpn, uint64_t v) {
    seen++;
    if (vpn == 512) {
      EXPECT_EQ(v, e & ~pte::young);
    }
  });
  EXPECT_EQ(seen, 2);
}

TEST(PageTableShare, AChangeCopiesTheLeafWithItsReferences) {
  Fixture x;
  PageTable parent(&x.meter, &x.frames, &x.shares), child(&x.meter, &x.frames, &x.shares);
  const uint64_t e = x.mapped_frame(kPresentAnon | pte::young);
  parent.set(0, e);
  ASSERT_TRUE(child.share_leaf(parent, 0));
  const uint32_t f = pte::frame(e);
  // The child changes an entry: its own copy, old, with a reference and a mapping of its own.
  uint64_t *ce = child.find(0);
  ASSERT_NE(ce, nullptr);
  EXPECT_EQ(*ce, e & ~pte::young);
  EXPECT_FALSE(parent.leaf_shared(0));
  EXPECT_FALSE(child.leaf_shared(0));
  EXPECT_FALSE(x.shares.any());
  EXPECT_EQ(x.frames.refs(f), 2u);
  EXPECT_EQ(x.frames.mapcount(f), 2u);
  // The parent's view keeps its accessed bit.
  EXPECT_EQ(parent.get(0), e);
}

TEST(PageTableShare, LeavingKeepsTheFramesWithTheOthers) {
  Fixture x;
  PageTable parent(&x.meter, &x.frames, &x.shares);
  const uint64_t e = x.mapped_frame(kPresentAnon);
  parent.set(7, e);
  const uint32_t f = pte::frame(e);
  {
    PageTable child(&x.meter, &x.frames, &x.shares);
    ASSERT_TRUE(child.share_leaf(parent, 7));
    child.leave_shared(7, false);  // an empty table of its own instead
    EXPECT_EQ(child.get(7), 0u);
    EXPECT_EQ(child.entries(), 0u);
    EXPECT_TRUE(child.has_table(7));
  }
  EXPECT_FALSE(parent.leaf_shared(7));
  EXPECT_EQ(x.frames.refs(f), 1u);
  EXPECT_EQ(parent.get(7), e);
  // Three tables, then the first two go: the last keeps the leaf and its references.
  PageTable a(&x.meter, &x.frames, &x.shares), b(&x.meter, &x.frames, &x.shares);
  ASSERT_TRUE(a.share_leaf(parent, 7));
  ASSERT_TRUE(b.share_leaf(a, 7));
  std::unordered_map<uint32_t, uint32_t> extra;
  x.shares.extra_maps(extra);
  EXPECT_EQ(extra[f], 2u);
  parent.leave_shared(7, true);
  EXPECT_FALSE(parent.has_table(7));
  a.leave_shared(7, true);
  EXPECT_FALSE(b.leaf_shared(7));
  EXPECT_EQ(b.get(7), e & ~pte::young);
  EXPECT_EQ(x.frames.refs(f), 1u);
  // b owns it now: a change happens in place.
  *b.find(7) |= pte::young;
  EXPECT_EQ(b.get(7), e | pte::young);
  EXPECT_EQ(x.frames.refs(f), 1u);
}

TEST(PageTableShare, TheLastTableToGoGivesTheReferencesBack) {
  Fixture x;
  const uint64_t used_before = x.frames.used_frames();
  {
    PageTable parent(&x.meter, &x.frames, &x.shares);
    parent.set(3, x.mapped_frame(kPresentAnon));
    PageTable child(&x.meter, &x.frames, &x.shares);
    ASSERT_TRUE(child.share_leaf(parent, 3));
    EXPECT_EQ(x.frames.used_frames(), used_before + 1);
  }
  // Both tables went without zapping: the last one dropped the leaf's frame.
  EXPECT_EQ(x.frames.used_frames(), used_before);
}

}  // namespace
}  // namespace vmspace
