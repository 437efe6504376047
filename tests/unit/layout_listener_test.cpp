// The layout-change notification: after each change, the range and what happened.
#include <gtest/gtest.h>

#include <vector>

#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

struct Log {
  std::vector<LayoutChange> seen;
  void operator()(const LayoutChange &c) { seen.push_back(c); }
  LayoutChange take() {
    EXPECT_FALSE(seen.empty());
    if (seen.empty()) return {};
    LayoutChange c = seen.front();
    seen.erase(seen.begin());
    return c;
  }
};

constexpr uint64_t kRw = lx::prot_read | lx::prot_write;
constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;

TEST(LayoutListener, ToldWhatEachCallDid) {
  System sys;
  Process p = sys.spawn();
  Log log;
  p.set_layout_listener([&log](const LayoutChange &c) { log(c); });

  const uint64_t a = *p.mmap(0, 3 * 4096, kRw, kAnon, ~0ull, 0);
  LayoutChange c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::mapped);
  EXPECT_EQ(c.start, a);
  EXPECT_EQ(c.end, a + 3 * 4096);
  EXPECT_EQ(c.prot, kRw);

  ASSERT_TRUE(p.mprotect(a + 4096, 4096, lx::prot_read));
  c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::protected_);
  EXPECT_EQ(c.start, a + 4096);
  EXPECT_EQ(c.end, a + 2 * 4096);
  EXPECT_EQ(c.prot, lx::prot_read);

  ASSERT_TRUE(p.munmap(a + 2 * 4096, 4096));
  c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::unmapped);
  EXPECT_EQ(c.start, a + 2 * 4096);
  EXPECT_EQ(c.end, a + 3 * 4096);

  // A move: the old range goes to the new one.
  const uint64_t hint = 0x500000000ull;
  ASSERT_TRUE(p.mmap(hint, 4096, kRw, kAnon | lx::map_fixed, ~0ull, 0));
  log.take();
  Result<uint64_t> m =
      p.mremap(a, 4096, 8192, lx::mremap_maymove | lx::mremap_fixed, hint + 0x10000);
  ASSERT_TRUE(m);
  c = log.take();  // (the target held nothing: no "unmapped" for it)
  EXPECT_EQ(c.kind, LayoutChange::moved);
  EXPECT_EQ(c.start, a);
  EXPECT_EQ(c.end, a + 4096);
  EXPECT_EQ(c.to, *m);
  c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::mapped);  // the grown part
  EXPECT_EQ(c.start, *m + 4096);
  EXPECT_EQ(c.end, *m + 8192);

  // A failed call changes nothing and tells nothing.
  EXPECT_FALSE(p.mprotect(0x1000, 4096, lx::prot_read));
  EXPECT_TRUE(log.seen.empty());

  // Unregistered: quiet.
  p.set_layout_listener(nullptr);
  ASSERT_TRUE(p.mmap(0, 4096, kRw, kAnon, ~0ull, 0));
  EXPECT_TRUE(log.seen.empty());
}

TEST(LayoutListener, SharedByThreadsAndStackGrowth) {
  System sys;
  Process p = sys.spawn();
  Log log;
  p.set_layout_listener([&log](const LayoutChange &c) { log(c); });
  Result<int> tid = p.clone(lx::clone_vm | lx::clone_sighand | lx::clone_thread);
  ASSERT_TRUE(tid);
  Process t = sys.process(*tid);
  // A thread's call changes the shared address space: the listener hears of it.
  ASSERT_TRUE(t.mmap(0, 4096, kRw, kAnon, ~0ull, 0));
  EXPECT_EQ(log.take().kind, LayoutChange::mapped);
  // The stack grows on a fault below it.
  uint64_t stack = 0;
  for (const VmaInfo &v : p.vmas())
    if (v.name == "[stack]") stack = v.start;
  ASSERT_NE(stack, 0u);
  EXPECT_FALSE(p.touch(stack - 4096, 1, true));
  LayoutChange c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::mapped);
  EXPECT_EQ(c.start, stack - 4096);
  EXPECT_EQ(c.end, stack);
  // brk up and down.
  const uint64_t b = p.brk(0);
  ASSERT_GT(b, 0u);
  EXPECT_EQ(p.brk(b + 8192), b + 8192);
  c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::mapped);
  EXPECT_EQ(c.start, b);
  EXPECT_EQ(c.end, b + 8192);
  EXPECT_EQ(p.brk(b), b);
  c = log.take();
  EXPECT_EQ(c.kind, LayoutChange::unmapped);
}

}  // namespace
}  // namespace vmspace
