// Concurrency stress: several threads make memory calls on one process while others fork,
// open, dup and close on it (and on its children), at least a million calls in all. The
// address space must stay consistent (validate()), and under ThreadSanitizer (the tsan
// preset) nothing may race.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;

// Calls by the memory threads; the others add their own.
constexpr int kMemThreads = 4, kFileThreads = 2;
constexpr long kMemCalls = 200000, kFileCalls = 100000;

void memory_worker(Process p, int id, std::atomic<long> *calls) {
  std::mt19937_64 rng(1000 + id);
  // Each thread works mostly in its own window, sometimes in another's (collisions are the
  // point), and now and then lets the kernel choose.
  auto window = [&](int w) { return 0x100000000ull + static_cast<uint64_t>(w) * 0x10000000ull; };
  long n = 0;
  while (n < kMemCalls) {
    const int w = rng() % 8 == 0 ? static_cast<int>(rng() % kMemThreads) : id;
    const uint64_t a = window(w) + (rng() % 256) * kPage;
    const uint64_t len = (1 + rng() % 8) * kPage;
    switch (rng() % 8) {
      case 0:
        (void)p.mmap(a, len, lx::prot_read | lx::prot_write, kAnon | lx::map_fixed, ~0ull, 0);
        break;
      case 1: {
        Result<uint64_t> m = p.mmap(0, len, lx::prot_read, kAnon, ~0ull, 0);
        if (m) (void)p.munmap(*m, len);
        break;
      }
      case 2:
        (void)p.munmap(a, len);
        break;
      case 3:
        (void)p.mprotect(a, len, rng() % 2 ? lx::prot_read : lx::prot_read | lx::prot_write);
        break;
      case 4:
        (void)p.mremap(a, len, len + kPage, lx::mremap_maymove, 0);
        break;
      case 5:
        (void)p.madvise(a, len, rng() % 2 ? lx::madv_dontfork : lx::madv_dofork);
        break;
      case 6:
        (void)p.brk(p.brk(0) + (rng() % 2 ? kPage : 0));
        break;
      case 7:
        (void)p.touch(a, 1, true);
        break;
    }
    n++;
  }
  *calls += n;
}

void file_worker(System *sys, Process p, int id, std::atomic<long> *calls) {
  std::mt19937_64 rng(2000 + id);
  long n = 0;
  std::vector<Process> children;
  while (n < kFileCalls) {
    // Forks copy the whole address space: one op in 50.
    const uint64_t op = rng() % 50 == 0 ? 0 : 1 + rng() % 5;
    switch (op) {
      case 0: {
        Result<int> c = p.fork();
        n++;
        if (c) children.push_back(sys->process(*c));
        break;
      }
      case 1: {
        Result<int> fd = p.open("data", lx::o_rdwr, 0);
        n++;
        if (fd) {
          Result<uint64_t> m =
              p.mmap(0, kPage, lx::prot_read, lx::map_shared, static_cast<uint64_t>(*fd), 0);
          (void)p.close(static_cast<uint64_t>(*fd));
          if (m) (void)p.munmap(*m, kPage);
          n += 3;
        }
        break;
      }
      case 2: {
        Result<int> d = p.dup(0);
        n++;
        if (d) {
          (void)p.dup2(static_cast<uint64_t>(*d), 50 + static_cast<uint64_t>(id));
          (void)p.close(static_cast<uint64_t>(*d));
          n += 2;
        }
        break;
      }
      case 3:
        (void)p.fcntl(50 + static_cast<uint64_t>(id), lx::f_dupfd, 100);
        n++;
        break;
      case 4:
        if (!children.empty()) {
          Process c = children.back();
          children.pop_back();
          (void)c.mmap(0, kPage, lx::prot_read, kAnon, ~0ull, 0);
          (void)c.open("data", lx::o_rdonly, 0);
          c.exit_group(0);
          n += 3;
        }
        break;
      case 5:
        (void)p.close_range(100, 200, 0);
        n++;
        break;
    }
  }
  for (Process &c : children) c.exit_group(0);
  *calls += n;
}

TEST(Concurrency, MemoryAndFileCallsFromManyThreads) {
  char tmpl[] = "/tmp/vmspace-stress-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  SystemConfig cfg;
  cfg.root_dir = dir;
  std::atomic<long> calls{0};
  {
    System sys(cfg);
    Process p = sys.spawn();
    Result<int> fd = p.open("data", lx::o_rdwr | lx::o_creat, 0644);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(p.ftruncate(static_cast<uint64_t>(*fd), 16 * kPage));
    ASSERT_TRUE(p.close(static_cast<uint64_t>(*fd)));
    std::vector<std::thread> threads;
    for (int i = 0; i < kMemThreads; i++) threads.emplace_back(memory_worker, p, i, &calls);
    for (int i = 0; i < kFileThreads; i++) threads.emplace_back(file_worker, &sys, p, i, &calls);
    // A reader, too: maps, status and the VMA list while everything changes.
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop) {
        (void)p.maps();
        (void)p.vmas();
        (void)p.status();
        std::string why;
        EXPECT_TRUE(p.validate(&why)) << why;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    for (std::thread &t : threads) t.join();
    stop = true;
    reader.join();
    std::string why;
    for (int pid : sys.pids()) {
      Process q = sys.process(pid);
      EXPECT_TRUE(q.validate(&why)) << "pid " << pid << ": " << why;
    }
    EXPECT_GE(calls.load(), 1000000);
  }
  ::unlink((dir + "/data").c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace vmspace
