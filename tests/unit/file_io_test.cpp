// read, write, pread64, pwrite64 and lseek through the public API with guest buffers: the
// page cache is shared with every mapping, buffers fault like guest accesses, the position is
// shared by every descriptor of one open file, and the bytes reach the host file on fsync.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sandbox_fixture.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;

class FileIo : public ::testing::Test, public SandboxFixture {
 protected:
  void SetUp() override { open(SystemConfig(), "0123456789"); }
  void TearDown() override { close(); }
  std::string guest(uint64_t addr, uint64_t n) {
    std::string s(n, '\0');
    EXPECT_FALSE(p_.read(addr, s.data(), n));
    return s;
  }
};

TEST_F(FileIo, GuestBuffersAndThePageCache) {
  Result<int> fd = p_.open("f", lx::o_rdwr, 0);
  ASSERT_TRUE(fd);
  Result<uint64_t> a = p_.mmap(0, 8192, kRw, kAnon, ~0ull, 0);
  ASSERT_TRUE(a);
  // A read into guest memory, and the position it leaves.
  EXPECT_EQ(*p_.sys_read(*fd, *a, 4), 4u);
  EXPECT_EQ(guest(*a, 4), "0123");
  EXPECT_EQ(*p_.lseek(*fd, 0, 1), 4u);
  // A buffer that runs into unmapped memory: a short read, then EFAULT.
  ASSERT_TRUE(p_.munmap(*a + 4096, 4096));
  EXPECT_EQ(*p_.pread64(*fd, *a + 4094, 6, 0), 2u);
  EXPECT_EQ(p_.pread64(*fd, *a + 4096, 6, 0).error(), Errno::fault);
  EXPECT_EQ(p_.sys_read(*fd, 0x7ffffffff000ull - 2, 4).error(), Errno::fault);  // access_ok
  // A shared mapping sees a write at once, and a read sees a store.
  Result<uint64_t> m = p_.mmap(0, 4096, kRw, lx::map_shared, *fd, 0);
  ASSERT_TRUE(m);
  ASSERT_FALSE(p_.write(*a, "ab", 2));
  EXPECT_EQ(*p_.pwrite64(*fd, *a, 2, 3), 2u);
  EXPECT_EQ(guest(*m, 6), "012ab5");
  ASSERT_FALSE(p_.write(*m, "Z", 1));
  uint8_t got[3] = {};
  EXPECT_EQ(*p_.pread64(*fd, got, 3, 0), 3u);
  EXPECT_EQ(std::string(reinterpret_cast<char *>(got), 3), "Z12");
  // Nothing reaches the host file before write-back.
  EXPECT_EQ(host_file(), "0123456789");
  ASSERT_TRUE(p_.fsync(*fd));
  EXPECT_EQ(host_file(), "Z12ab56789");
}

TEST_F(FileIo, PositionIsSharedByDupAndFork) {
  Result<int> fd = p_.open("f", lx::o_rdonly, 0);
  ASSERT_TRUE(fd);
  Result<int> d = p_.dup(*fd);
  ASSERT_TRUE(d);
  uint8_t b[4];
  EXPECT_EQ(*p_.sys_read(*fd, b, 3), 3u);
  EXPECT_EQ(*p_.lseek(*d, 0, 1), 3u);
  Result<int> child = p_.fork();
  ASSERT_TRUE(child);
  Process c = sys_->process(*child);
  EXPECT_EQ(*c.sys_read(*fd, b, 2), 2u);
  EXPECT_EQ(*p_.lseek(*fd, 0, 1), 5u);
  // A fresh open has its own.
  Result<int> other = p_.open("f", lx::o_rdonly, 0);
  EXPECT_EQ(*p_.lseek(*other, 0, 1), 0u);
}

TEST_F(FileIo, WritesGrowTheFileAndAppend) {
  Result<int> fd = p_.open("f", lx::o_wronly | lx::o_append, 0);
  ASSERT_TRUE(fd);
  const uint8_t x[] = {'x', 'y'};
  EXPECT_EQ(*p_.pwrite64(*fd, x, 2, 0), 2u);  // O_APPEND: at the end, as Linux
  EXPECT_EQ(*p_.sys_write(*fd, x, 1), 1u);
  EXPECT_EQ(p_.sys_read(*fd, const_cast<uint8_t *>(x), 1).error(), Errno::badf);
  ASSERT_TRUE(p_.close(*fd));
  Result<int> r = p_.open("f", lx::o_rdonly, 0);
  EXPECT_EQ(*p_.lseek(*r, 0, 2), 13u);
  uint8_t b[16] = {};
  EXPECT_EQ(*p_.pread64(*r, b, 16, 8), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<char *>(b), 5), "89xyx");
  EXPECT_EQ(p_.pread64(*r, b, 1, ~0ull).error(), Errno::inval);
  EXPECT_EQ(p_.lseek(*r, ~0ull, 0).error(), Errno::inval);
  EXPECT_EQ(p_.lseek(*r, 0, 5).error(), Errno::inval);
  EXPECT_EQ(p_.lseek(*r, 20, 3).error(), Errno::nxio);  // SEEK_DATA past the end
  // Descriptors vmspace does not model answer ENOSYS.
  ASSERT_TRUE(p_.install_placeholder(40, false));
  EXPECT_EQ(p_.sys_read(40, b, 1).error(), Errno::nosys);
}

}  // namespace
}  // namespace vmspace
