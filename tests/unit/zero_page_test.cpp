// SystemConfig::zero_page and the pages that are not swap-backed: what smaps shows for loads
// of untouched private anonymous memory with and without the shared zero page (kernels that
// forbid it allocate a page, dirty where the mapping is writable), MAP_DROPPABLE pages
// (LazyFree while clean) and MADV_PAGEOUT, which discards lazy-free pages. Each expectation
// is what Linux 6.18 showed for the same steps (docs/probes/droppable.c).
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "smaps_field.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;
constexpr uint64_t kPage = 4096;

class ZeroPage : public ::testing::Test {
 protected:
  void start(bool zero_page) {
    SystemConfig cfg;
    cfg.zero_page = zero_page;
    sys_ = std::make_unique<System>(cfg);
    p_ = sys_->spawn();
  }
  uint64_t map(uint64_t pages, uint64_t prot, uint64_t flags = kAnon) {
    auto a = p_.mmap(0, pages * kPage, prot, flags, ~0ull, 0);
    EXPECT_TRUE(a);
    return a ? *a : 0;
  }
  void load(uint64_t addr) {
    uint8_t b = 0xee;
    ASSERT_FALSE(p_.read(addr, &b, 1));
    EXPECT_EQ(b, 0);
  }
  void store(uint64_t addr) {
    const uint8_t b = 1;
    ASSERT_FALSE(p_.write(addr, &b, 1));
  }
  uint64_t kb(uint64_t addr, const char *key) { return field_kb(p_.smaps(addr), key); }
  bool anon_vma(uint64_t addr) {
    for (const VmaInfo &v : p_.vmas())
      if (v.start <= addr && addr < v.end) return v.has_anon_vma;
    ADD_FAILURE() << "no VMA at " << addr;
    return false;
  }

  std::unique_ptr<System> sys_;
  Process p_;
};

TEST_F(ZeroPage, LoadsMapTheZeroPageInNoCounter) {
  start(true);
  const uint64_t a = map(4, kRw);
  load(a);
  load(a + kPage);
  EXPECT_EQ(kb(a, "Rss:"), 0u);
  EXPECT_FALSE(anon_vma(a));  // a zero-page load needs none
  store(a);                   // the zero page is copied: one page
  EXPECT_EQ(kb(a, "Rss:"), 4u);
  EXPECT_EQ(kb(a, "Private_Dirty:"), 4u);
}

TEST_F(ZeroPage, WithoutItLoadsAllocateDirtyInWritableMappings) {
  start(false);
  const uint64_t a = map(4, kRw);
  load(a);
  load(a + kPage);
  EXPECT_EQ(kb(a, "Rss:"), 8u);
  EXPECT_EQ(kb(a, "Private_Dirty:"), 8u);
  EXPECT_EQ(kb(a, "Anonymous:"), 8u);
  store(a);  // the page is this mapping's own: no copy
  EXPECT_EQ(kb(a, "Rss:"), 8u);
}

TEST_F(ZeroPage, WithoutItLoadsAllocateCleanInReadOnlyMappings) {
  start(false);
  const uint64_t a = map(2, lx::prot_read);
  load(a);
  EXPECT_EQ(kb(a, "Rss:"), 4u);
  EXPECT_EQ(kb(a, "Private_Clean:"), 4u);
  EXPECT_EQ(kb(a, "Private_Dirty:"), 0u);
  EXPECT_TRUE(anon_vma(a));  // the load prepared one, as a store would have
}

TEST_F(ZeroPage, DroppablePagesAreLazyFreeWhileClean) {
  start(false);
  const uint64_t r = map(2, lx::prot_read, lx::map_droppable | lx::map_anonymous);
  load(r);
  load(r + kPage);
  EXPECT_EQ(kb(r, "Rss:"), 8u);
  EXPECT_EQ(kb(r, "LazyFree:"), 8u);
  // MADV_PAGEOUT discards them.
  ASSERT_TRUE(p_.madvise(r, kPage, lx::madv_pageout));
  EXPECT_EQ(kb(r, "Rss:"), 4u);
  EXPECT_EQ(kb(r, "LazyFree:"), 4u);
}

TEST_F(ZeroPage, PageoutDiscardsDroppablePagesEvenDirty) {
  start(true);
  const uint64_t d = map(4, kRw, lx::map_droppable | lx::map_anonymous);
  store(d);
  store(d + kPage);
  EXPECT_EQ(kb(d, "Rss:"), 8u);
  EXPECT_EQ(kb(d, "LazyFree:"), 0u);  // dirty
  ASSERT_TRUE(p_.madvise(d, 4 * kPage, lx::madv_pageout));
  EXPECT_EQ(kb(d, "Rss:"), 0u);
  load(d);  // a fresh page of zeros (the zero page here)
}

TEST_F(ZeroPage, PageoutDiscardsCleanLazyFreePagesAndKeepsRewrittenOnes) {
  start(true);
  const uint64_t a = map(4, kRw);
  for (uint64_t i = 0; i < 4; i++) store(a + i * kPage);
  ASSERT_TRUE(p_.madvise(a, 4 * kPage, lx::madv_free));
  store(a + 3 * kPage);  // written again: dirty, stays
  ASSERT_TRUE(p_.madvise(a, 4 * kPage, lx::madv_pageout));
  EXPECT_EQ(kb(a, "Rss:"), 4u);
  uint8_t b = 0;
  ASSERT_FALSE(p_.read(a + 3 * kPage, &b, 1));
  EXPECT_EQ(b, 1);
  ASSERT_FALSE(p_.read(a, &b, 1));
  EXPECT_EQ(b, 0);  // discarded: zeros again
}

}  // namespace
}  // namespace vmspace
