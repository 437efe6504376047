// The descriptor table: lowest-free numbering against a brute-force model, sparse storage,
// and the fs.nr_open ceiling.
#include "file/fd_table.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace vmspace {
namespace {

Ref<OpenFile> some_file() {
  static InodeCache cache;
  return make_ref<OpenFile>(cache.shmem("/memfd:t (deleted)", 0), lx::o_rdwr, -1);
}

TEST(FdTable, LowestFreeAgainstAModel) {
  FdTable t;
  std::set<uint64_t> model;
  std::mt19937_64 rng(7);
  const Ref<OpenFile> f = some_file();
  const uint64_t limit = 5000;
  for (int step = 0; step < 60000; step++) {
    const uint64_t op = rng() % 4;
    if (op == 0) {  // close
      const uint64_t fd = rng() % limit;
      EXPECT_EQ(static_cast<bool>(t.close(fd)), model.erase(fd) == 1);
    } else if (op == 1) {  // dup2 to a random number
      const uint64_t fd = rng() % limit;
      ASSERT_TRUE(t.install_at(fd, f, false, limit));
      model.insert(fd);
    } else {  // lowest free >= min
      const uint64_t min = op == 2 ? 0 : rng() % limit;
      uint64_t want = min;
      while (model.count(want)) want++;
      Result<int> got = t.install(f, false, limit, min);
      if (want >= limit) {
        EXPECT_FALSE(got);
      } else {
        ASSERT_TRUE(got);
        EXPECT_EQ(static_cast<uint64_t>(*got), want);
        model.insert(want);
      }
    }
    ASSERT_EQ(t.count(), model.size());
  }
}

TEST(FdTable, ANumberIsNotASize) {
  FdTable t;
  const Ref<OpenFile> f = some_file();
  // Past fs.nr_open no descriptor exists, whatever RLIMIT_NOFILE says.
  EXPECT_EQ(t.install_at(4000000000u, f, false, ~0ull).error(), Errno::badf);
  ASSERT_TRUE(t.install_at(lx::nr_open - 1, f, false, ~0ull));
  EXPECT_EQ(t.count(), 1u);
  EXPECT_EQ(t.span(), lx::nr_open);
  EXPECT_EQ(*t.install(f, false, ~0ull), 0);
  EXPECT_EQ(t.open_in(0, ~0ull).size(), 2u);
  EXPECT_TRUE(t.close(lx::nr_open - 1));
  EXPECT_EQ(t.span(), 1u);
}

TEST(FdTable, FullTableGivesEmfile) {
  FdTable t;
  const Ref<OpenFile> f = some_file();
  for (uint64_t i = 0; i < 10000; i++) ASSERT_EQ(*t.install(f, false, 10000), static_cast<int>(i));
  EXPECT_EQ(t.install(f, false, 10000).error(), Errno::mfile);
  EXPECT_FALSE(t.reserve_check(10000));
  ASSERT_TRUE(t.close(4242));
  EXPECT_EQ(*t.install(f, true, 10000), 4242);
  EXPECT_TRUE(t.cloexec(4242));
  t.close_on_exec();
  EXPECT_EQ(t.get(4242), nullptr);
  EXPECT_EQ(t.count(), 9999u);
}

}  // namespace
}  // namespace vmspace
