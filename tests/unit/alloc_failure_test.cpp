// Allocation-failure injection: every call that changes a layout, failed at each of its
// allocations in turn, must either succeed or fail with ENOMEM leaving the address space
// exactly as it was (maps, status counters, validate()).
//
// Two kinds of failure are injected, one at a time: the n-th pool allocation event (the VMA
// and tree-node pools: PoolFaults in src/base/pool.hpp) and the n-th heap allocation
// (operator new, replaced in this test program). For n = 1, 2, ... the scenario is built
// afresh and the call made with the failure armed, until a call completes without reaching
// the n-th allocation.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "base/pool.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace {
// Heap failure injection: when armed, the countdown-th operator new from now fails.
thread_local long g_new_countdown = 0;
thread_local long g_new_events = 0;

void *checked_alloc(std::size_t n) {
  if (g_new_countdown > 0) {
    g_new_events++;
    if (--g_new_countdown == 0) throw std::bad_alloc();
  }
  if (void *p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void *nothrow_alloc(std::size_t n) noexcept {
  try {
    return checked_alloc(n);
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}
}  // namespace

// Every form the library uses, so that each allocation and its release meet (AddressSanitizer
// checks that they match).
void *operator new(std::size_t n) { return checked_alloc(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return nothrow_alloc(n); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return nothrow_alloc(n); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }
void *operator new[](std::size_t n) { return checked_alloc(n); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

namespace vmspace {
namespace {

constexpr uint64_t P = 4096;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;
constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t X = 0x10000000;  // the scenario's area

// A layout with something of everything a call may meet: VMAs that differ in protection,
// faulted anonymous memory (anon_vmas), a shared memfd mapping, holes, a heap.
void build(Process &p) {
  ASSERT_TRUE(p.mmap(X, 32 * P, kRw, kAnon | lx::map_fixed, ~0ull, 0));
  ASSERT_FALSE(p.touch(X, 8 * P, true));
  ASSERT_TRUE(p.mprotect(X + 4 * P, 4 * P, lx::prot_read));
  ASSERT_TRUE(p.munmap(X + 12 * P, 2 * P));
  ASSERT_FALSE(p.touch(X + 20 * P, P, true));
  Result<int> fd = p.memfd_create("m", 0);
  ASSERT_TRUE(fd);
  ASSERT_TRUE(p.ftruncate(static_cast<uint64_t>(*fd), 16 * P));
  ASSERT_TRUE(p.mmap(X + 40 * P, 8 * P, kRw, lx::map_shared | lx::map_fixed,
                     static_cast<uint64_t>(*fd), 0));
  ASSERT_TRUE(p.close(static_cast<uint64_t>(*fd)));
  const uint64_t b = p.brk(0);
  ASSERT_EQ(p.brk(b + 4 * P), b + 4 * P);
}

struct Snapshot {
  std::string maps, status;
  bool operator==(const Snapshot &) const = default;
};
// Status without VmPTE: page tables prepared for a call that then failed stay, as Linux's do
// (tables are freed only by munmap's free_pgtables).
std::string status_without_pte(const std::string &s) {
  std::string out;
  size_t at = 0;
  while (at < s.size()) {
    size_t nl = s.find('\n', at);
    if (nl == std::string::npos) nl = s.size();
    if (s.compare(at, 6, "VmPTE:") != 0) out.append(s, at, nl - at + 1);
    at = nl + 1;
  }
  return out;
}

Snapshot snap(Process &p) { return {p.maps(), status_without_pte(p.status())}; }

enum class Kind { pool, heap };

// Runs `call` on a fresh scenario with the n-th allocation of the given kind failing, for
// every n until the call gets through. Returns how many failure points were tried.
int exercise(const char *what, Kind kind, const std::function<bool(Process &)> &call) {
  for (int n = 1;; n++) {
    System sys;
    Process p = sys.spawn();
    build(p);
    if (::testing::Test::HasFatalFailure()) return n;
    const Snapshot before = snap(p);
    long events;
    bool ok = false;
    // No exception may cross the API.
    auto guarded = [&] {
      try {
        ok = call(p);
      } catch (const std::bad_alloc &) {
        ok = false;
        return false;
      }
      return true;
    };
    bool caught;
    if (kind == Kind::pool) {
      PoolFaults::events = 0;
      PoolFaults::fail_countdown = n;
      caught = !guarded();
      events = PoolFaults::events;
      PoolFaults::fail_countdown = 0;
    } else {
      g_new_events = 0;
      g_new_countdown = n;
      caught = !guarded();
      events = g_new_events;
      g_new_countdown = 0;
    }
    EXPECT_FALSE(caught) << what << ": std::bad_alloc crossed the API at allocation " << n;
    std::string why;
    EXPECT_TRUE(p.validate(&why)) << what << ", failure at allocation " << n << ": " << why;
    if (events < n) {
      EXPECT_TRUE(ok) << what << " failed without an injected failure";
      return n;
    }
    // The n-th allocation failed: the call must have failed and changed nothing.
    EXPECT_FALSE(ok) << what << " succeeded although allocation " << n << " failed";
    const Snapshot after = snap(p);
    EXPECT_EQ(after.maps, before.maps) << what << ", failure at allocation " << n;
    EXPECT_EQ(after.status, before.status) << what << ", failure at allocation " << n;
    if (n > 10000) {
      ADD_FAILURE() << what << " never completes";
      return n;
    }
  }
}

// Ok unless ENOMEM (any other error fails the test: the call is meant to succeed).
bool ok_or_nomem(const Result<void> &r) {
  EXPECT_TRUE(r || r.error() == Errno::nomem) << errno_name(r.error());
  return r.ok();
}
template <class T>
bool ok_or_nomem(const Result<T> &r) {
  EXPECT_TRUE(r || r.error() == Errno::nomem) << errno_name(r.error());
  return r.ok();
}

struct Case {
  const char *what;
  std::function<bool(Process &)> call;
};

std::vector<Case> cases() {
  return {
      {"mmap MAP_FIXED over three VMAs",
       [](Process &p) {
         return ok_or_nomem(
             p.mmap(X + 2 * P, 4 * P, lx::prot_read, kAnon | lx::map_fixed, ~0ull, 0));
       }},
      {"mmap next to a VMA (merge)",
       [](Process &p) {
         return ok_or_nomem(p.mmap(X + 12 * P, P, kRw, kAnon | lx::map_fixed, ~0ull, 0));
       }},
      {"mmap anywhere",
       [](Process &p) { return ok_or_nomem(p.mmap(0, 3 * P, kRw, kAnon, ~0ull, 0)); }},
      {"munmap inside a VMA (split in two)",
       [](Process &p) { return ok_or_nomem(p.munmap(X + 1 * P, P)); }},
      {"munmap across VMAs", [](Process &p) { return ok_or_nomem(p.munmap(X + 3 * P, 20 * P)); }},
      {"mprotect inside a VMA (split in three)",
       [](Process &p) { return ok_or_nomem(p.mprotect(X + 1 * P, P, lx::prot_read)); }},
      {"mprotect that merges three VMAs",
       [](Process &p) { return ok_or_nomem(p.mprotect(X + 4 * P, 4 * P, kRw)); }},
      {"mprotect across two VMAs",
       [](Process &p) { return ok_or_nomem(p.mprotect(X + 2 * P, 4 * P, lx::prot_exec)); }},
      {"mprotect of the shared mapping's middle",
       [](Process &p) { return ok_or_nomem(p.mprotect(X + 42 * P, 2 * P, lx::prot_read)); }},
      {"mremap grow in place",
       [](Process &p) { return ok_or_nomem(p.mremap(X + 20 * P, 12 * P, 13 * P, 0, 0)); }},
      {"mremap move",
       [](Process &p) {
         return ok_or_nomem(p.mremap(X + 1 * P, 2 * P, 64 * P, lx::mremap_maymove, 0));
       }},
      {"mremap fixed onto other VMAs",
       [](Process &p) {
         return ok_or_nomem(
             p.mremap(X + 1 * P, 2 * P, 2 * P, lx::mremap_maymove | lx::mremap_fixed, X + 5 * P));
       }},
      {"mremap dontunmap",
       [](Process &p) {
         return ok_or_nomem(
             p.mremap(X + 1 * P, 2 * P, 2 * P, lx::mremap_maymove | lx::mremap_dontunmap, 0));
       }},
      {"madvise DONTFORK inside a VMA",
       [](Process &p) { return ok_or_nomem(p.madvise(X + 9 * P, P, lx::madv_dontfork)); }},
      {"mlock inside a VMA", [](Process &p) { return ok_or_nomem(p.mlock(X + 9 * P, P)); }},
      {"mseal inside a VMA", [](Process &p) { return ok_or_nomem(p.mseal(X + 9 * P, P, 0)); }},
      {"brk grow",
       [](Process &p) {
         const uint64_t b = p.layout().brk;  // (brk(0) would take part in the count)
         return p.brk(b + 8 * P) == b + 8 * P;
       }},
      {"brk shrink",
       [](Process &p) {
         const uint64_t b = p.layout().brk;  // (brk(0) would take part in the count)
         return p.brk(b - 2 * P) == b - 2 * P;
       }},
      {"fork", [](Process &p) { return ok_or_nomem(p.fork()); }},
  };
}

TEST(AllocFailure, PoolFailuresLeaveTheLayoutAsItWas) {
  for (const Case &c : cases()) {
    int tried = exercise(c.what, Kind::pool, c.call);
    EXPECT_GT(tried, 1) << c.what << ": no allocation was ever made";
    std::printf("  %-45s %d pool failure points\n", c.what, tried - 1);
  }
}

TEST(AllocFailure, HeapFailuresLeaveTheLayoutAsItWas) {
  for (const Case &c : cases()) {
    int tried = exercise(c.what, Kind::heap, c.call);
    std::printf("  %-45s %d heap failure points\n", c.what, tried - 1);
  }
}

}  // namespace
}  // namespace vmspace
