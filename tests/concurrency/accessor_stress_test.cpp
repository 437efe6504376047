// Accessors under fire: four threads load, store, compare-exchange and add through their own
// Accessors while a fifth maps, protects, remaps and unmaps memory under them. Every value
// read is zero or one a thread wrote, every fault is one the layout can explain (only the
// region that comes and goes faults), and no atomic update is lost. Run under
// ThreadSanitizer by the tsan preset.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "vmspace/abi.hpp"
#include "vmspace/accessor.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;
constexpr uint64_t kPages = 16, kPage = 4096;

TEST(AccessorStress, AccessesWhileTheLayoutChanges) {
  System sys;
  Process p = sys.spawn();
  const uint64_t stable =
      *p.mmap(0x200000000, kPages * kPage, kRw, kAnon | lx::map_fixed, ~0ull, 0);
  const uint64_t moving = 0x300000000, away = 0x310000000;
  constexpr int kThreads = 4, kIters = 20000;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<uint64_t> faults{0};

  std::thread mapper([&] {
    uint64_t round = 0;
    while (!stop.load()) {
      (void)p.mmap(moving, kPages * kPage, kRw, kAnon | lx::map_fixed, ~0ull, 0);
      (void)p.mprotect(moving + kPage, kPage, lx::prot_read);
      if (round % 3 == 0)
        (void)p.mremap(moving, kPages * kPage, kPages * kPage,
                       lx::mremap_maymove | lx::mremap_fixed, away);
      (void)p.madvise(moving, kPage, lx::madv_dontneed);
      (void)p.munmap(moving, kPages * kPage);
      (void)p.munmap(away, kPages * kPage);
      round++;
    }
  });

  std::vector<uint64_t> added(kThreads, 0);
  std::vector<std::thread> workers;
  for (int id = 0; id < kThreads; id++) {
    workers.emplace_back([&, id] {
      Accessor acc(p);
      const uint64_t mine = stable + 8 * static_cast<uint64_t>(id);
      const uint8_t tag = static_cast<uint8_t>(id + 1);
      for (int i = 0; i < kIters; i++) {
        uint64_t old = 0;
        if (acc.fetch_add<uint64_t>(mine, 1, &old)) {
          bad++;
        } else {
          added[static_cast<size_t>(id)]++;
        }
        // A shared word: compare-exchange from whatever it holds.
        uint32_t expected = 0;
        bool swapped = false;
        if (acc.compare_exchange<uint32_t>(stable + kPage, expected, tag, &swapped)) bad++;
        if (!swapped && (expected < 1 || expected > kThreads)) bad++;
        if (acc.compare_exchange<uint32_t>(stable + kPage, expected, 0, &swapped)) bad++;
        // The region that comes and goes: a store of the tag, then a load. Each thread has
        // bytes of its own on every page (offsets congruent to its id): two threads storing
        // to one guest byte would be a race of the guest's, which TSan rightly reports.
        const uint64_t slot = static_cast<uint64_t>(i * 7 + id * 131) % (kPages * kPage / kThreads);
        const uint64_t at = moving + slot * kThreads + static_cast<uint64_t>(id);
        Fault f = acc.write(at, &tag, 1);
        uint8_t got = 0;
        Fault g = acc.read(at, &got, 1);
        for (const Fault &x : {f, g}) {
          if (!x) continue;
          faults++;
          // Unmapped (SEGV_MAPERR) or the read-only page (SEGV_ACCERR), at that address.
          if (x.signal != lx::sigsegv || x.addr != at || (x.code != 1 && x.code != 2)) bad++;
        }
        if (!g && got != 0 && got != tag) bad++;  // zero (a page that came back) or its own
      }
    });
  }
  for (std::thread &w : workers) w.join();
  stop = true;
  mapper.join();
  EXPECT_EQ(bad.load(), 0);
  for (int id = 0; id < kThreads; id++) {
    uint64_t v = 0;
    ASSERT_FALSE(p.read(stable + 8 * static_cast<uint64_t>(id), &v, 8));
    EXPECT_EQ(v, added[static_cast<size_t>(id)]) << "thread " << id;
    EXPECT_EQ(v, static_cast<uint64_t>(kIters));
  }
  std::printf("accessor stress: %d threads x %d iterations, %llu faults explained\n", kThreads,
              kIters, static_cast<unsigned long long>(faults.load()));
}

}  // namespace
}  // namespace vmspace
