// The OOM killer: when guest memory (SystemConfig::ram_limit) runs out in a fault, the process
// with the most resident pages and page tables dies of SIGKILL (the later one on a tie), the
// embedder is told, and the fault is retried; the faulting process dies only when it is the
// one chosen. The host never holds more frames than the limit.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "vmspace/abi.hpp"
#include "vmspace/accessor.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;
constexpr uint64_t kPage = 4096;

class Oom : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemConfig cfg;
    cfg.ram_limit = 1ull << 20;  // 256 frames
    sys_ = std::make_unique<System>(cfg);
    sys_->set_oom_listener([this](int pid) { told_.push_back(pid); });
  }
  // Maps n pages in p and stores into each; the first fault, if any.
  Fault dirty(Process &p, uint64_t n, uint64_t *base = nullptr) {
    Result<uint64_t> a = p.mmap(0, n * kPage, kRw, kAnon, ~0ull, 0);
    EXPECT_TRUE(a);
    if (base) *base = a.value();
    for (uint64_t i = 0; i < n; i++) {
      uint8_t b = static_cast<uint8_t>(i);
      if (Fault f = p.write(a.value() + i * kPage, &b, 1)) return f;
    }
    return Fault{};
  }

  std::unique_ptr<System> sys_;
  std::vector<int> told_;
};

TEST_F(Oom, TheLargestProcessDiesAndTheFaultIsRetried) {
  Process big = sys_->spawn(), small = sys_->spawn();
  ASSERT_FALSE(dirty(big, 150));
  uint64_t base = 0;
  ASSERT_FALSE(dirty(small, 150, &base));  // runs out halfway: `big` goes, the stores go on
  EXPECT_FALSE(big.alive());
  EXPECT_TRUE(small.alive());
  EXPECT_EQ(told_, std::vector<int>{big.pid()});
  EXPECT_EQ(sys_->oom_victims(), std::vector<int>{big.pid()});
  uint8_t b = 0;
  ASSERT_FALSE(small.read(base + 149 * kPage, &b, 1));
  EXPECT_EQ(b, 149);
}

TEST_F(Oom, TheFaultingProcessDiesWhenItIsTheLargest) {
  Process p = sys_->spawn();
  const Fault f = dirty(p, 400);
  EXPECT_EQ(f.signal, lx::sigkill);
  EXPECT_EQ(f.code, lx::si_kernel);
  EXPECT_FALSE(p.alive());
  EXPECT_EQ(told_, std::vector<int>{p.pid()});
  // Its frames went back to the pool: a new process gets pages again.
  Process q = sys_->spawn();
  EXPECT_FALSE(dirty(q, 100));
}

TEST_F(Oom, ATieGoesToTheLaterProcess) {
  Process a = sys_->spawn(), b = sys_->spawn(), c = sys_->spawn();
  ASSERT_FALSE(dirty(a, 100));
  ASSERT_FALSE(dirty(b, 100));
  ASSERT_FALSE(dirty(c, 80));  // c needs more than is left
  EXPECT_TRUE(a.alive());
  EXPECT_FALSE(b.alive());
  EXPECT_TRUE(c.alive());
  EXPECT_EQ(told_, std::vector<int>{b.pid()});
}

TEST_F(Oom, AccessorFaultsRunTheOomKillerToo) {
  Process big = sys_->spawn(), p = sys_->spawn();
  ASSERT_FALSE(dirty(big, 170));
  Result<uint64_t> a = p.mmap(0, 150 * kPage, kRw, kAnon, ~0ull, 0);
  ASSERT_TRUE(a);
  Accessor acc(p);
  for (uint64_t i = 0; i < 150; i++) {
    const uint64_t v = i;
    ASSERT_FALSE(acc.write(a.value() + i * kPage, &v, 8)) << i;
  }
  EXPECT_FALSE(big.alive());
  EXPECT_EQ(told_, std::vector<int>{big.pid()});
  // And when the Accessor's own process is the largest, it gets SIGKILL.
  Result<uint64_t> more = p.mmap(0, 200 * kPage, kRw, kAnon, ~0ull, 0);
  ASSERT_TRUE(more);
  Fault f;
  for (uint64_t i = 0; i < 200 && !f; i++) {
    const uint64_t v = i;
    f = acc.write(more.value() + i * kPage, &v, 8);
  }
  EXPECT_EQ(f.signal, lx::sigkill);
  EXPECT_FALSE(p.alive());
}

}  // namespace
}  // namespace vmspace
