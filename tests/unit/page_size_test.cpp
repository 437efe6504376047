// Guest memory with the runtime page sizes vmspace supports (4, 16 and 64 KiB, as arm64's
// kernels): demand paging, copy-on-write after fork, file pages shared with read/write and
// written back by msync, SIGBUS past the end of a file, mprotect, mremap moving contents,
// mincore, smaps, and the Accessor. The kernel oracle only speaks 4 KiB; these check that
// every page-granular rule scales with the page size.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox_fixture.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/accessor.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;

uint64_t field_kb(const std::string &smaps, const char *key) {
  const size_t at = smaps.find(std::string("\n") + key);
  if (at == std::string::npos) return ~0ull;
  return std::strtoull(smaps.c_str() + at + 1 + std::string(key).size(), nullptr, 10);
}

class PageSize : public ::testing::TestWithParam<uint64_t>, public SandboxFixture {
 protected:
  void SetUp() override {
    ps_ = GetParam();
    std::string contents;
    for (uint64_t i = 0; i < 3 * ps_; i++) contents += static_cast<char>('a' + i % 26);
    SystemConfig cfg;
    cfg.page_size = ps_;
    open(cfg, contents);
  }
  void TearDown() override { close(); }
  uint8_t peek(Process &p, uint64_t a) {
    uint8_t b = 0xee;
    EXPECT_FALSE(p.read(a, &b, 1));
    return b;
  }

  uint64_t ps_ = 0;
};

TEST_P(PageSize, AnonymousPagesFaultAndCopyOnWriteAfterFork) {
  const uint64_t a = p_.mmap(0, 4 * ps_, kRw, kAnon, ~0ull, 0).value();
  EXPECT_EQ(a % ps_, 0u);
  uint8_t b = 7;
  ASSERT_FALSE(p_.write(a + ps_ + 5, &b, 1));
  EXPECT_EQ(peek(p_, a), 0);  // the zero page: no Rss
  EXPECT_EQ(field_kb(p_.smaps(a), "Rss:"), ps_ >> 10);
  EXPECT_EQ(field_kb(p_.smaps(a), "KernelPageSize:"), ps_ >> 10);
  Process c = sys_->process(p_.fork().value());
  b = 9;
  ASSERT_FALSE(c.write(a + ps_ + 5, &b, 1));
  EXPECT_EQ(peek(p_, a + ps_ + 5), 7);
  EXPECT_EQ(peek(c, a + ps_ + 5), 9);
  EXPECT_EQ(field_kb(c.smaps(a), "Private_Dirty:"), ps_ >> 10);
  c.exit_group(0);
}

TEST_P(PageSize, FilePagesAreSharedWithReadWriteAndWrittenBack) {
  const uint64_t fd = static_cast<uint64_t>(
      p_.openat(static_cast<uint64_t>(lx::at_fdcwd), "f", lx::o_rdwr, 0).value());
  const uint64_t m = p_.mmap(0, 3 * ps_, kRw, lx::map_shared, fd, 0).value();
  EXPECT_EQ(peek(p_, m + ps_ + 1), 'a' + (ps_ + 1) % 26);
  ASSERT_FALSE(p_.write(m + ps_, "XYZ", 3));
  // pread64 sees the store at once; the host file after msync.
  char buf[3] = {};
  ASSERT_EQ(p_.pread64(fd, reinterpret_cast<uint8_t *>(buf), 3, ps_).value(), 3u);
  EXPECT_EQ(std::string(buf, 3), "XYZ");
  ASSERT_TRUE(p_.msync(m, 3 * ps_, lx::ms_sync));
  EXPECT_EQ(host_file().substr(ps_, 3), "XYZ");
  // Shrunk to one page and a half: the second page's tail reads zero, the third is SIGBUS.
  ASSERT_TRUE(p_.ftruncate(fd, ps_ + ps_ / 2));
  EXPECT_EQ(peek(p_, m + ps_ + ps_ / 2), 0);
  uint8_t b = 0;
  const Fault f = p_.read(m + 2 * ps_ + 3, &b, 1);
  EXPECT_EQ(f.signal, lx::sigbus);
  EXPECT_EQ(f.addr, m + 2 * ps_ + 3);
}

TEST_P(PageSize, ProtectionsAndMovesWorkInWholePages) {
  const uint64_t a = p_.mmap(0, 4 * ps_, kRw, kAnon, ~0ull, 0).value();
  uint8_t b = 3;
  ASSERT_FALSE(p_.write(a + 2 * ps_ + 1, &b, 1));
  ASSERT_TRUE(p_.mprotect(a + ps_, ps_, lx::prot_read));
  const Fault f = p_.write(a + ps_ + ps_ - 1, &b, 1);
  EXPECT_EQ(f.signal, lx::sigsegv);
  EXPECT_EQ(f.code, lx::segv_accerr);
  EXPECT_FALSE(p_.write(a + 2 * ps_, &b, 1));  // the next page is writable
  // An address inside a page is EINVAL; a length rounds up to whole pages.
  EXPECT_EQ(p_.mprotect(a + ps_ / 2, ps_, lx::prot_read).error(), Errno::inval);
  const uint64_t to =
      p_.mremap(a + 2 * ps_, ps_, ps_, lx::mremap_maymove | lx::mremap_fixed, a + 16 * ps_).value();
  EXPECT_EQ(peek(p_, to + 1), 3);
  ASSERT_FALSE(p_.write(a + 1, &b, 1));
  std::vector<uint8_t> vec(2, 9);
  ASSERT_TRUE(p_.mincore(a, 2 * ps_ - 1, vec.data()));
  EXPECT_EQ(vec, (std::vector<uint8_t>{1, 0}));
  // Page 2 moved away: a hole.
  std::vector<uint8_t> four(4);
  EXPECT_EQ(p_.mincore(a, 4 * ps_, four.data()).error(), Errno::nomem);
}

TEST_P(PageSize, AccessorCachesWholePages) {
  const uint64_t a = p_.mmap(0, 2 * ps_, kRw, kAnon, ~0ull, 0).value();
  Accessor acc(p_);
  const uint64_t v = 0x1122334455667788ull;
  uint64_t w = 0;
  ASSERT_FALSE(acc.write(a + ps_ - 4, &v, 8));  // crosses into the second page
  ASSERT_FALSE(acc.read(a + ps_ - 4, &w, 8));
  EXPECT_EQ(w, v);
  uint32_t expected = 0x55667788;
  bool swapped = false;
  ASSERT_FALSE(acc.compare_exchange<uint32_t>(a + ps_ - 4, expected, 7u, &swapped));
  EXPECT_TRUE(swapped);
  const uint64_t misses = acc.misses();
  for (uint64_t off = 0; off < ps_; off += 512) ASSERT_FALSE(acc.read(a + off, &w, 8));
  EXPECT_EQ(acc.misses(), misses);  // one page, one TLB entry
}

INSTANTIATE_TEST_SUITE_P(Sizes, PageSize, ::testing::Values(4096, 16384, 65536));

}  // namespace
}  // namespace vmspace
