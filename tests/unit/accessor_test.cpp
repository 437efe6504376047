// Accessor: loads, stores and atomics through the software TLB behave as Process::read/write
// (faults, copy-on-write, page cache), and every layout change reaches cached pages.
#include "vmspace/accessor.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "vmspace/abi.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;

TEST(Accessor, LoadsStoresAndFaults) {
  System sys;
  Process p = sys.spawn();
  Accessor acc(p);
  const uint64_t a = *p.mmap(0, 3 * 4096, kRw, kAnon, ~0ull, 0);
  uint64_t v = 0x1122334455667788, r = 0;
  EXPECT_FALSE(acc.write(a + 4090, &v, 8));  // across a page boundary
  EXPECT_FALSE(acc.read(a + 4090, &r, 8));
  EXPECT_EQ(r, v);
  uint64_t via_process = 0;
  EXPECT_FALSE(p.read(a + 4090, &via_process, 8));
  EXPECT_EQ(via_process, v);
  // Cached pages follow the layout: mprotect, then munmap.
  ASSERT_TRUE(p.mprotect(a, 4096, lx::prot_read));
  Fault f = acc.write(a, &v, 1);
  EXPECT_EQ(f.signal, lx::sigsegv);
  EXPECT_EQ(f.code, 2);  // SEGV_ACCERR
  EXPECT_EQ(f.addr, a);
  EXPECT_FALSE(acc.read(a, &r, 1));
  ASSERT_TRUE(p.munmap(a + 4096, 4096));
  f = acc.read(a + 4096, &r, 1);
  EXPECT_EQ(f.signal, lx::sigsegv);
  EXPECT_EQ(f.code, 1);  // SEGV_MAPERR
  // A fetch needs VM_EXEC.
  f = acc.fetch(a, &r, 1);
  EXPECT_EQ(f.code, 2);
  // Bytes before a fault are stored.
  uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  f = acc.write(a + 3 * 4096 - 4, bytes, 8);  // the last page, then past the mapping
  EXPECT_EQ(f.signal, lx::sigsegv);
  EXPECT_EQ(f.addr, a + 3 * 4096);
  uint32_t stored = 0;
  EXPECT_FALSE(p.read(a + 3 * 4096 - 4, &stored, 4));
  EXPECT_EQ(stored, 0x04030201u);
  // A page once loaded from is cached: the next load from it is a hit.
  EXPECT_FALSE(acc.read(a + 8, &r, 8));
  const uint64_t misses = acc.misses();
  EXPECT_FALSE(acc.read(a + 16, &r, 8));
  EXPECT_EQ(acc.misses(), misses);
}

TEST(Accessor, CopyOnWriteAcrossFork) {
  System sys;
  Process p = sys.spawn();
  const uint64_t a = *p.mmap(0, 4096, kRw, kAnon, ~0ull, 0);
  Accessor pa(p);
  uint32_t x = 1;
  ASSERT_FALSE(pa.write(a, &x, 4));
  Process c = sys.process(*p.fork());
  Accessor ca(c);
  uint32_t y = 2, r = 0;
  ASSERT_FALSE(ca.write(a, &y, 4));  // the child's copy
  ASSERT_FALSE(pa.read(a, &r, 4));
  EXPECT_EQ(r, 1u);
  ASSERT_FALSE(pa.write(a, &x, 4));
  ASSERT_FALSE(ca.read(a, &r, 4));
  EXPECT_EQ(r, 2u);
  c.exit_group(0);
  EXPECT_EQ(ca.read(a, &r, 4).signal, lx::sigkill);  // the process is gone
}

TEST(Accessor, NeighboursCachedByALoadStillCopyOnWrite) {
  System sys;
  Process p = sys.spawn();
  const uint64_t a = *p.mmap(0, 4 * 4096, kRw, kAnon, ~0ull, 0);
  ASSERT_FALSE(p.fill(a, 1, 4 * 4096));
  Process c = sys.process(*p.fork());
  Accessor ca(c);
  uint8_t b = 0;
  ASSERT_FALSE(ca.read(a, &b, 1));  // caches pages 1-3 too, for loads only
  const uint64_t misses = ca.misses();
  ASSERT_FALSE(ca.read(a + 2 * 4096, &b, 1));
  EXPECT_EQ(ca.misses(), misses);  // a hit
  const uint8_t nine = 9;
  ASSERT_FALSE(
      ca.write(a + 2 * 4096, &nine, 1));  // copy-on-write, not a store into the shared page
  ASSERT_FALSE(p.read(a + 2 * 4096, &b, 1));
  EXPECT_EQ(b, 1);
  ASSERT_FALSE(ca.read(a + 2 * 4096, &b, 1));
  EXPECT_EQ(b, 9);
}

TEST(Accessor, Atomics) {
  System sys;
  Process p = sys.spawn();
  Accessor acc(p);
  const uint64_t a = *p.mmap(0, 8192, kRw, kAnon, ~0ull, 0);
  uint32_t expected = 0;
  bool swapped = false;
  ASSERT_FALSE(acc.compare_exchange<uint32_t>(a, expected, 7, &swapped));
  EXPECT_TRUE(swapped);
  expected = 3;
  ASSERT_FALSE(acc.compare_exchange<uint32_t>(a, expected, 9, &swapped));
  EXPECT_FALSE(swapped);
  EXPECT_EQ(expected, 7u);
  uint64_t old = 0;
  ASSERT_FALSE(acc.fetch_add<uint64_t>(a + 8, 5, &old));
  ASSERT_FALSE(acc.fetch_add<uint64_t>(a + 8, 5, &old));
  EXPECT_EQ(old, 5u);
  uint16_t o16 = 0;
  ASSERT_FALSE(acc.exchange<uint16_t>(a + 4094, 0xbeef, &o16));  // aligned, the page's end
  uint64_t o64 = 0;
  ASSERT_FALSE(acc.exchange<uint64_t>(a + 4092, 0x0102030405060708, &o64));  // split lock
  uint8_t b[8];
  ASSERT_FALSE(p.read(a + 4092, b, 8));
  EXPECT_EQ(b[0], 0x08);
  EXPECT_EQ(b[7], 0x01);
  // A read-only page refuses an atomic (a store).
  ASSERT_TRUE(p.mprotect(a, 4096, lx::prot_read));
  EXPECT_EQ(acc.fetch_add<uint64_t>(a + 8, 1, &old).code, 2);
}

TEST(Accessor, StoresReachTheFileAfterWriteBack) {
  char tmpl[] = "/tmp/vmspace-accessor-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/f") << std::string(4096, 'a');
  {
    SystemConfig cfg;
    cfg.root_dir = dir;
    System sys(cfg);
    Process p = sys.spawn();
    const int fd = *p.open("f", lx::o_rdwr, 0);
    const uint64_t m = *p.mmap(0, 4096, kRw, lx::map_shared, fd, 0);
    Accessor acc(p);
    ASSERT_FALSE(acc.write(m, "X", 1));
    ASSERT_TRUE(p.fsync(fd));
    // The page is clean now: a store through the cached entry must dirty it again.
    ASSERT_FALSE(acc.write(m + 1, "Y", 1));
    ASSERT_TRUE(p.fsync(fd));
    std::ifstream in(dir + "/f");
    std::string s;
    in >> s;
    EXPECT_EQ(s.substr(0, 3), "XYa");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmspace
