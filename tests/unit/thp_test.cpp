// Transparent huge pages through the public API: what the kernel shows as AnonHugePages and
// RSS for faults, splits, moves and collapses of MADV_HUGEPAGE memory, and the fall back to
// 4 KiB pages when guest memory has no room for a huge page. (examples/thp.vms has the cases
// compared with the kernel; these add what a script cannot set up.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "smaps_field.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/accessor.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kFixed = kAnon | lx::map_fixed;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;
constexpr uint64_t kHuge = 2ull << 20;
constexpr uint64_t kBase = 0x40000000;

class Thp : public ::testing::Test {
 protected:
  void start(uint64_t ram_limit = 0) {
    SystemConfig cfg;
    cfg.ram_limit = ram_limit;
    sys_ = std::make_unique<System>(cfg);
    p_ = sys_->spawn();
  }
  void SetUp() override { start(); }
  // A huge-page-enabled anonymous mapping of n windows at kBase.
  void map_windows(uint64_t n) {
    ASSERT_EQ(p_.mmap(kBase, n * kHuge, kRw, kFixed, ~0ull, 0).value(), kBase);
    ASSERT_TRUE(p_.madvise(kBase, n * kHuge, lx::madv_hugepage));
  }
  uint64_t huge_kb(uint64_t addr) { return field_kb(p_.smaps(addr), "AnonHugePages:"); }
  uint64_t rss_kb(uint64_t addr) { return field_kb(p_.smaps(addr), "Rss:"); }
  void poke(uint64_t addr, uint8_t b) { ASSERT_FALSE(p_.write(addr, &b, 1)); }
  uint8_t peek(uint64_t addr) {
    uint8_t b = 0xee;
    EXPECT_FALSE(p_.read(addr, &b, 1));
    return b;
  }

  std::unique_ptr<System> sys_;
  Process p_;
};

TEST_F(Thp, StoreFaultsAWholeHugePageLoadMapsTheHugeZeroPage) {
  map_windows(2);
  EXPECT_EQ(peek(kBase + 5), 0);
  EXPECT_EQ(rss_kb(kBase), 0u);
  poke(kBase + kHuge + 1, 7);
  EXPECT_EQ(rss_kb(kBase), 2048u);
  EXPECT_EQ(huge_kb(kBase), 2048u);
  // A store to the huge zero page gets a huge page of its own.
  poke(kBase + 9, 1);
  EXPECT_EQ(huge_kb(kBase), 4096u);
  EXPECT_EQ(peek(kBase + 9), 1);
  EXPECT_EQ(peek(kBase + kHuge + 1), 7);
}

TEST_F(Thp, NoHugePageWithoutMadviseOrRoomInTheVma) {
  ASSERT_EQ(p_.mmap(kBase, 2 * kHuge, kRw, kFixed, ~0ull, 0).value(), kBase);
  poke(kBase, 1);
  EXPECT_EQ(rss_kb(kBase), 4u);
  // MADV_HUGEPAGE on a VMA that holds no aligned window: 4 KiB pages.
  ASSERT_EQ(p_.mmap(kBase + 4 * kHuge, kHuge, kRw, kFixed, ~0ull, 0).value(), kBase + 4 * kHuge);
  ASSERT_TRUE(p_.madvise(kBase + 4 * kHuge + 4096, kHuge - 4096, lx::madv_hugepage));
  poke(kBase + 4 * kHuge + 8192, 1);
  EXPECT_EQ(rss_kb(kBase + 4 * kHuge + 8192), 4u);
  EXPECT_EQ(huge_kb(kBase + 4 * kHuge + 8192), 0u);
}

TEST_F(Thp, AWindowWithAPageTableFaultsPageByPage) {
  map_windows(1);
  poke(kBase, 1);
  // MADV_DONTNEED of less than the window keeps its page table: no new huge page.
  ASSERT_TRUE(p_.madvise(kBase, kHuge, lx::madv_dontneed));
  poke(kBase + 4096, 1);
  EXPECT_EQ(rss_kb(kBase), 2048u);  // the table went with the whole window: huge again
  ASSERT_TRUE(p_.madvise(kBase, 4096, lx::madv_dontneed));
  EXPECT_EQ(rss_kb(kBase), 2044u);
  EXPECT_EQ(huge_kb(kBase), 0u);
  ASSERT_TRUE(p_.madvise(kBase + 4096, kHuge - 4096, lx::madv_dontneed));
  poke(kBase + 8192, 1);
  EXPECT_EQ(rss_kb(kBase), 4u);
}

TEST_F(Thp, FallsBackToSmallPagesWhenMemoryIsShort) {
  start(1ull << 20);  // 1 MiB of guest memory: no room for a huge page
  map_windows(1);
  poke(kBase + 3, 5);
  EXPECT_EQ(rss_kb(kBase), 4u);
  EXPECT_EQ(huge_kb(kBase), 0u);
  EXPECT_EQ(peek(kBase + 3), 5);
  // The huge zero page, then a store that cannot get a huge page: split, one page copied.
  ASSERT_TRUE(p_.mmap(kBase + 2 * kHuge, kHuge, kRw, kFixed, ~0ull, 0));
  ASSERT_TRUE(p_.madvise(kBase + 2 * kHuge, kHuge, lx::madv_hugepage));
  EXPECT_EQ(peek(kBase + 2 * kHuge), 0);
  poke(kBase + 2 * kHuge + 4096, 9);
  EXPECT_EQ(rss_kb(kBase + 2 * kHuge), 4u);
  EXPECT_EQ(peek(kBase + 2 * kHuge + 4096), 9);
  EXPECT_EQ(peek(kBase + 2 * kHuge + 8192), 0);
}

TEST_F(Thp, MremapKeepsAlignedWindowsAndSplitsOthers) {
  map_windows(2);
  poke(kBase + 1, 1);
  poke(kBase + kHuge + 1, 2);
  // Aligned on both sides: the huge mappings move whole.
  const uint64_t to = kBase + 16 * kHuge;
  ASSERT_EQ(
      p_.mremap(kBase, 2 * kHuge, 2 * kHuge, lx::mremap_maymove | lx::mremap_fixed, to).value(),
      to);
  EXPECT_EQ(huge_kb(to), 4096u);
  EXPECT_EQ(peek(to + kHuge + 1), 2);
  // Moved to an unaligned address: split, the pages and their contents stay.
  const uint64_t odd = kBase + 32 * kHuge + 4096;
  ASSERT_EQ(p_.mremap(to, 2 * kHuge, 2 * kHuge, lx::mremap_maymove | lx::mremap_fixed, odd).value(),
            odd);
  EXPECT_EQ(huge_kb(odd), 0u);
  EXPECT_EQ(rss_kb(odd), 4096u);
  EXPECT_EQ(peek(odd + 1), 1);
  EXPECT_EQ(peek(odd + kHuge + 1), 2);
}

TEST_F(Thp, ForkSharesAHugePageAndTheStoreThatSplitsCopiesOnePage) {
  map_windows(1);
  poke(kBase + 100, 1);
  Result<int> child = p_.fork();
  ASSERT_TRUE(child);
  Process c = sys_->process(child.value());
  EXPECT_EQ(field_kb(c.smaps(kBase), "AnonHugePages:"), 2048u);
  uint8_t b = 2;
  ASSERT_FALSE(c.write(kBase + 100, &b, 1));
  EXPECT_EQ(field_kb(c.smaps(kBase), "AnonHugePages:"), 0u);
  EXPECT_EQ(field_kb(c.smaps(kBase), "Private_Dirty:"), 4u);
  EXPECT_EQ(peek(kBase + 100), 1);
  // The parent's store: its mapping still shares 511 pages with the child: split too.
  poke(kBase + 200, 3);
  EXPECT_EQ(huge_kb(kBase), 0u);
  EXPECT_EQ(rss_kb(kBase), 2048u);
  c.exit_group(0);
}

TEST_F(Thp, ExclusiveHugePageIsReusedAfterTheChildExits) {
  map_windows(1);
  poke(kBase, 1);
  Result<int> child = p_.fork();
  ASSERT_TRUE(child);
  sys_->process(child.value()).exit_group(0);
  poke(kBase + 4096, 2);
  EXPECT_EQ(huge_kb(kBase), 2048u);
  EXPECT_EQ(field_kb(p_.smaps(kBase), "Private_Dirty:"), 2048u);
}

TEST_F(Thp, CollapseFillsTheHolesWithZeros) {
  ASSERT_EQ(p_.mmap(kBase, 2 * kHuge, kRw, kFixed, ~0ull, 0).value(), kBase);
  poke(kBase + 4096, 4);
  EXPECT_EQ(rss_kb(kBase), 4u);
  ASSERT_TRUE(p_.madvise(kBase, kHuge, lx::madv_collapse));
  EXPECT_EQ(huge_kb(kBase), 2048u);
  EXPECT_EQ(peek(kBase + 4096), 4);
  EXPECT_EQ(peek(kBase), 0);
  // The second window has no page table: EINVAL, the first stays collapsed.
  EXPECT_EQ(p_.madvise(kBase, 2 * kHuge, lx::madv_collapse).error(), Errno::inval);
  EXPECT_EQ(huge_kb(kBase), 2048u);
}

TEST_F(Thp, CollapseLeavesTheHugeZeroPageAlone) {
  map_windows(1);
  EXPECT_EQ(peek(kBase + 3), 0);
  ASSERT_TRUE(p_.madvise(kBase, kHuge, lx::madv_collapse));  // already mapped by a PMD
  EXPECT_EQ(rss_kb(kBase), 0u);
}

TEST_F(Thp, AccessorSeesStoresThroughAHugePage) {
  map_windows(1);
  Accessor acc(p_);
  uint64_t v = 0x1122334455667788ull, w = 0;
  ASSERT_FALSE(acc.read(kBase + 64, &w, 8));
  EXPECT_EQ(w, 0u);
  ASSERT_FALSE(acc.write(kBase + 64, &v, 8));  // the huge zero page gets its own huge page
  ASSERT_FALSE(acc.read(kBase + 64, &w, 8));
  EXPECT_EQ(w, v);
  EXPECT_EQ(huge_kb(kBase), 2048u);
}

}  // namespace
}  // namespace vmspace
