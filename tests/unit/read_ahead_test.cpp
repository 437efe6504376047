// How much of a file a fault reads into the page cache (Linux 6.18 do_sync_mmap_readahead):
// SystemConfig::read_ahead_kb around the page, ahead of it with MADV_SEQUENTIAL or in an
// executable mapping (cut at the VMA), the page alone with MADV_RANDOM, two PMD-sized blocks
// with MADV_HUGEPAGE, and the same for a store as for a load. The file is sparse past its
// first page, as the kernel was asked with docs/probes/readahead.c; each expectation is the
// range the kernel's mincore showed for the same steps (read_ahead_kb 8192 and 128).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "sandbox_fixture.hpp"
#include "smaps_field.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kFilePages = 0x4000;  // 64 MiB

class ReadAhead : public ::testing::Test, public SandboxFixture {
 protected:
  void TearDown() override { close(); }
  void start(uint64_t read_ahead_kb) {
    SystemConfig cfg;
    cfg.read_ahead_kb = read_ahead_kb;
    open(cfg, std::string(kPage, 'x'));
    auto fd = p_.open("f", lx::o_rdwr, 0);
    ASSERT_TRUE(fd);
    fd_ = *fd;
    ASSERT_TRUE(p_.ftruncate(fd_, kFilePages * kPage));
  }
  // Maps pages [first, first + n) of the file.
  uint64_t map(uint64_t first, uint64_t n, uint64_t prot, uint64_t flags = lx::map_private,
               uint64_t hint = 0) {
    auto a = p_.mmap(hint, n * kPage, prot, flags, fd_, first * kPage);
    EXPECT_TRUE(a);
    return a ? *a : 0;
  }
  // The runs of cached pages of the whole file, as [first, last] pairs.
  std::vector<std::pair<uint64_t, uint64_t>> cached() {
    const uint64_t w = map(0, kFilePages, lx::prot_none, lx::map_shared);
    std::vector<uint8_t> v(kFilePages);
    EXPECT_TRUE(p_.mincore(w, kFilePages * kPage, v.data()));
    EXPECT_TRUE(p_.munmap(w, kFilePages * kPage));
    std::vector<std::pair<uint64_t, uint64_t>> runs;
    for (uint64_t i = 0; i < kFilePages; i++) {
      if (!(v[i] & 1)) continue;
      if (!runs.empty() && runs.back().second + 1 == i)
        runs.back().second = i;
      else
        runs.push_back({i, i});
    }
    return runs;
  }
  void load(uint64_t addr) {
    uint8_t b = 0xee;
    ASSERT_FALSE(p_.read(addr, &b, 1));
    EXPECT_EQ(b, 0);
  }

  uint64_t fd_ = 0;
};

using Runs = std::vector<std::pair<uint64_t, uint64_t>>;

TEST_F(ReadAhead, ALoadReadsAroundThePage) {
  start(8192);
  const uint64_t a = map(0x1200, 0x100, lx::prot_read);
  load(a + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0xe34, 0x1633}}));
}

TEST_F(ReadAhead, TheDefaultReadsAroundBy128KiB) {
  start(128);
  const uint64_t a = map(0x1200, 0x100, lx::prot_read);
  load(a + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0x1224, 0x1243}}));
}

TEST_F(ReadAhead, TheWindowStopsAtTheFileStartAndEnd) {
  start(8192);
  const uint64_t a = map(0, kFilePages, lx::prot_read);
  load(a + 0x35 * kPage);
  load(a + 0x3fff * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0x7ff}, {0x3bff, 0x3fff}}));
}

TEST_F(ReadAhead, AnExecutableMappingReadsAheadToItsEnd) {
  start(8192);
  const uint64_t a = map(0x1200, 0x100, lx::prot_read | lx::prot_exec);
  load(a + 0x34 * kPage);
  const uint64_t b = map(0x2000, 0x1000, lx::prot_read | lx::prot_exec);
  load(b + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0x1234, 0x12ff}, {0x2034, 0x2833}}));
}

TEST_F(ReadAhead, AdviceChangesTheWindow) {
  start(8192);
  const uint64_t r = map(0x1200, 0x100, lx::prot_read);
  ASSERT_TRUE(p_.madvise(r, 0x100 * kPage, lx::madv_random));
  load(r + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0x1234, 0x1234}}));
  const uint64_t s = map(0x2200, 0x100, lx::prot_read);
  ASSERT_TRUE(p_.madvise(s, 0x100 * kPage, lx::madv_sequential));
  load(s + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0x1234, 0x1234}, {0x2234, 0x2a33}}));
  const uint64_t h = map(0x3200, 0x100, lx::prot_read);
  ASSERT_TRUE(p_.madvise(h, 0x100 * kPage, lx::madv_hugepage));
  load(h + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0x1234, 0x1234}, {0x2234, 0x2a33}, {0x3200, 0x35ff}}));
}

// The read-around marks the page a quarter of the window before its end (PG_readahead);
// fault-around leaves it out (observed with read_ahead_kb 128: Rss 60 kB, not 64), and the
// load of that page maps it and clears the mark.
TEST_F(ReadAhead, TheMarkedPageWaitsForItsOwnFault) {
  start(128);
  // At an address whose 64 KiB windows match the file's 16-page blocks.
  const uint64_t a = map(0x1200, 0x100, lx::prot_read, lx::map_private, 0x10000000);
  ASSERT_EQ(a, 0x10000000u);
  load(a + 0x34 * kPage);
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0x1224, 0x1243}}));
  EXPECT_EQ(field_kb(p_.smaps(a), "Rss:"), 60u);
  load(a + 0x3c * kPage);
  EXPECT_EQ(field_kb(p_.smaps(a), "Rss:"), 64u);
}

TEST_F(ReadAhead, AStoreReadsAroundAsALoadDoes) {
  start(8192);
  const uint64_t a = map(0x1200, 0x100, lx::prot_read | lx::prot_write);
  const uint8_t b = 1;
  ASSERT_FALSE(p_.write(a + 0x34 * kPage, &b, 1));
  EXPECT_EQ(cached(), (Runs{{0, 0}, {0xe34, 0x1633}}));
  // Only the page itself became private: the others are the file's, read but not mapped.
  EXPECT_EQ(field_kb(p_.smaps(a), "Rss:"), 4u);
}

}  // namespace
}  // namespace vmspace
