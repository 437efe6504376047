// The page-layer figures of `vmspace bench` (bench.hpp), each against the host kernel in the
// same run:
//   anon_fault       first-touch write faults on private anonymous memory (pages/s)
//   file_fault       read faults on a shared mapping of a cached 16 MiB file (pages/s; both
//                    sides fault around)
//   cow_fault        write faults on pages shared with a fork parent (pages/s)
//   fork_256m        fork of a process with 256 MiB touched (forks/s)
//   guest_copy       Accessor::read of 1 MiB against memcpy of host memory (bytes/s)
//   tlb_hit          8-byte loads through the Accessor's TLB against host loads (loads/s)
//   meta_per_page    bytes of host memory vmspace spends per resident 4 KiB page beyond the
//                    page itself (frame metadata, page tables); the kernel's struct page and
//                    PTE take 64 + 8
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/vmspace/bench.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/accessor.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

namespace {
using Clock = std::chrono::steady_clock;
namespace lx = vmspace::lx;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kAnon = lx::map_private | lx::map_anonymous;
constexpr uint64_t kRw = lx::prot_read | lx::prot_write;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Repeats round() (which returns the units it did) for about `seconds`: units per second.
template <class F>
double rate(double seconds, F round) {
  const auto t = Clock::now();
  double units = 0, el = 0;
  while (el < seconds) {
    const double u = round();
    if (u <= 0) return 0;
    units += u;
    el = since(t);
  }
  return units / el;
}

std::string temp_file(uint64_t size) {
  char path[] = "/tmp/vmspace-bench-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "";
  std::vector<char> buf(1 << 20, 'x');
  for (uint64_t done = 0; done < size; done += buf.size())
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) break;
  ::close(fd);
  return path;
}

// ---- the kernel side (in a forked child) ----

double kernel_anon(double s, uint64_t pages) {
  return rate(s, [&] {
    char *a = static_cast<char *>(
        ::mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (a == MAP_FAILED) return 0.0;
    for (uint64_t i = 0; i < pages; i++) static_cast<volatile char *>(a)[i * kPage] = 1;
    ::munmap(a, pages * kPage);
    return static_cast<double>(pages);
  });
}

double kernel_file(double s, const std::string &path, uint64_t pages) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  const double r = rate(s, [&] {
    char *a = static_cast<char *>(::mmap(nullptr, pages * kPage, PROT_READ, MAP_SHARED, fd, 0));
    if (a == MAP_FAILED) return 0.0;
    long sum = 0;
    for (uint64_t i = 0; i < pages; i++) sum += static_cast<volatile char *>(a)[i * kPage];
    ::munmap(a, pages * kPage);
    return sum ? static_cast<double>(pages) : 0.0;
  });
  ::close(fd);
  return r;
}

double kernel_cow(double s, uint64_t pages) {
  char *a = static_cast<char *>(
      ::mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (a == MAP_FAILED) return 0;
  std::memset(a, 1, pages * kPage);
  double spent = 0, done = 0;
  const auto t = Clock::now();
  while (since(t) < s) {
    int fds[2];
    if (::pipe(fds) != 0) return 0;
    const pid_t pid = ::fork();
    if (pid == 0) {
      // The child times its own stores: the write faults alone.
      const auto c0 = Clock::now();
      for (uint64_t i = 0; i < pages; i++) static_cast<volatile char *>(a)[i * kPage] = 2;
      const double el = since(c0);
      (void)!::write(fds[1], &el, sizeof el);
      ::_exit(0);
    }
    double el = 0;
    const bool ok = ::read(fds[0], &el, sizeof el) == sizeof el;
    ::close(fds[0]);
    ::close(fds[1]);
    ::waitpid(pid, nullptr, 0);
    if (!ok) return 0;
    spent += el;
    done += static_cast<double>(pages);
  }
  return spent > 0 ? done / spent : 0;
}

double kernel_fork(double s, uint64_t bytes) {
  char *a = static_cast<char *>(
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (a == MAP_FAILED) return 0;
  std::memset(a, 1, bytes);
  double spent = 0;
  long forks = 0;
  const auto t = Clock::now();
  while (since(t) < s) {
    const auto f0 = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    spent += since(f0);
    ::waitpid(pid, nullptr, 0);
    forks++;
  }
  return spent > 0 ? forks / spent : 0;
}

double kernel_copy(double s, uint64_t bytes) {
  std::vector<char> src(bytes, 'a'), dst(bytes);
  return rate(s, [&] {
    std::memcpy(dst.data(), src.data(), bytes);
    asm volatile("" : : "r"(dst.data()) : "memory");
    return static_cast<double>(bytes);
  });
}

double kernel_load(double s) {
  std::vector<uint64_t> v(512, 1);
  return rate(s, [&] {
    uint64_t sum = 0;
    for (int k = 0; k < 1 << 16; k++) sum += static_cast<volatile uint64_t *>(v.data())[k & 511];
    return sum ? static_cast<double>(1 << 16) : 0.0;
  });
}

// ---- vmspace ----

struct Guest {
  vmspace::System sys;
  vmspace::Process p;
  explicit Guest(const vmspace::SystemConfig &c) : sys(c), p(sys.spawn()) {}
};

vmspace::SystemConfig config(const std::string &root = "") {
  vmspace::SystemConfig c;
  if (!root.empty()) c.root_dir = root;
  return c;
}

double vms_anon(double s, uint64_t pages) {
  Guest g(config());
  vmspace::Accessor acc(g.p);
  return rate(s, [&] {
    auto a = g.p.mmap(0, pages * kPage, kRw, kAnon, ~0ull, 0);
    if (!a) return 0.0;
    const uint8_t one = 1;
    for (uint64_t i = 0; i < pages; i++)
      if (acc.write(*a + i * kPage, &one, 1)) return 0.0;
    (void)g.p.munmap(*a, pages * kPage);
    return static_cast<double>(pages);
  });
}

double vms_file(double s, const std::string &path, uint64_t pages) {
  const std::string dir = path.substr(0, path.rfind('/'));
  Guest g(config(dir));
  vmspace::Accessor acc(g.p);
  auto fd = g.p.open(path.substr(path.rfind('/') + 1), lx::o_rdonly, 0);
  if (!fd) return 0;
  return rate(s, [&] {
    auto a = g.p.mmap(0, pages * kPage, lx::prot_read, lx::map_shared, *fd, 0);
    if (!a) return 0.0;
    long sum = 0;
    for (uint64_t i = 0; i < pages; i++) {
      uint8_t b = 0;
      if (acc.read(*a + i * kPage, &b, 1)) return 0.0;
      sum += b;
    }
    (void)g.p.munmap(*a, pages * kPage);
    return sum ? static_cast<double>(pages) : 0.0;
  });
}

double vms_cow(double s, uint64_t pages) {
  Guest g(config());
  auto a = g.p.mmap(0, pages * kPage, kRw, kAnon, ~0ull, 0);
  if (!a || g.p.fill(*a, 1, pages * kPage)) return 0;
  double spent = 0, done = 0;
  const auto t = Clock::now();
  while (since(t) < s) {
    auto child = g.p.fork();
    if (!child) return 0;
    vmspace::Process c = g.sys.process(*child);
    {
      vmspace::Accessor acc(c);
      const uint8_t two = 2;
      const auto c0 = Clock::now();
      for (uint64_t i = 0; i < pages; i++)
        if (acc.write(*a + i * kPage, &two, 1)) return 0;
      spent += since(c0);
    }
    done += static_cast<double>(pages);
    c.exit_group(0);
  }
  return spent > 0 ? done / spent : 0;
}

double vms_fork(double s, uint64_t bytes) {
  Guest g(config());
  auto a = g.p.mmap(0, bytes, kRw, kAnon, ~0ull, 0);
  if (!a || g.p.fill(*a, 1, bytes)) return 0;
  double spent = 0;
  long forks = 0;
  const auto t = Clock::now();
  while (since(t) < s) {
    const auto f0 = Clock::now();
    auto child = g.p.fork();
    spent += since(f0);
    if (!child) return 0;
    g.sys.process(*child).exit_group(0);
    forks++;
  }
  return spent > 0 ? forks / spent : 0;
}

double vms_copy(double s, uint64_t bytes) {
  Guest g(config());
  vmspace::Accessor acc(g.p);
  auto a = g.p.mmap(0, bytes, kRw, kAnon, ~0ull, 0);
  if (!a || acc.fill(*a, 'a', bytes)) return 0;
  std::vector<char> dst(bytes);
  return rate(s, [&] {
    if (acc.read(*a, dst.data(), bytes)) return 0.0;
    asm volatile("" : : "r"(dst.data()) : "memory");
    return static_cast<double>(bytes);
  });
}

double vms_load(double s) {
  Guest g(config());
  vmspace::Accessor acc(g.p);
  auto a = g.p.mmap(0, kPage, kRw, kAnon, ~0ull, 0);
  const uint64_t one = 1;
  if (!a || acc.write(*a, &one, 8)) return 0;
  return rate(s, [&] {
    uint64_t sum = 0;
    for (int k = 0; k < 1 << 16; k++) {
      uint64_t v = 0;
      if (acc.read(*a + (k & 511) * 8, &v, 8)) return 0.0;
      sum += v;
    }
    return sum ? static_cast<double>(1 << 16) : 0.0;
  });
}

// Host bytes per resident page beyond the page: what touching 64 MiB more costs the System's
// memory meter besides the pages themselves, measured after a first 64 MiB (so that the
// middle page tables, 5 KiB per GiB of address space that the process has once, are there
// already: the figure is the cost that grows with the resident pages).
double vms_meta() {
  Guest g(config());
  const uint64_t pages = 16384;
  auto a = g.p.mmap(0, 2 * pages * kPage, kRw, kAnon, ~0ull, 0);
  if (!a || g.p.fill(*a, 1, pages * kPage)) return 0;
  const uint64_t before = g.sys.memory_used();
  if (g.p.fill(*a + pages * kPage, 1, pages * kPage)) return 0;
  const uint64_t after = g.sys.memory_used();
  return (static_cast<double>(after - before) - static_cast<double>(pages * kPage)) /
         static_cast<double>(pages);
}
}  // namespace

bool is_page_figure(const std::string &name) {
  for (const char *n : {"anon_fault", "file_fault", "cow_fault", "fork_256m", "guest_copy",
                        "tlb_hit", "meta_per_page"})
    if (name == n) return true;
  return false;
}

std::vector<PageFigure> bench_pages(bool quick, const std::vector<std::string> &only) {
  const double s = quick ? 0.2 : 1.0;
  const uint64_t pages = 4096;  // 16 MiB
  std::vector<PageFigure> out;
  auto want = [&](const char *n) {
    if (only.empty()) return true;
    for (const std::string &o : only)
      if (o == n) return true;
    return false;
  };
  auto add = [&](const char *name, const char *unit, double v, double k) {
    out.push_back({name, unit, v, k});
    if (k > 0)
      std::printf("%s vmspace=%.0f kernel=%.0f ratio=%.2f (%s)\n", name, v, k, v / k, unit);
    else
      std::printf("%s vmspace=%.1f (%s)\n", name, v, unit);
    std::fflush(stdout);
  };
  if (want("anon_fault"))
    add("anon_fault", "pages/s", vms_anon(s, pages),
        in_child([&] { return kernel_anon(s, pages); }));
  if (want("file_fault")) {
    const std::string f = temp_file(pages * kPage);
    if (!f.empty()) {
      add("file_fault", "pages/s", vms_file(s, f, pages),
          in_child([&] { return kernel_file(s, f, pages); }));
      ::unlink(f.c_str());
    }
  }
  if (want("cow_fault"))
    add("cow_fault", "pages/s", vms_cow(s, pages), in_child([&] { return kernel_cow(s, pages); }));
  if (want("fork_256m"))
    add("fork_256m", "forks/s", vms_fork(s, 256ull << 20),
        in_child([&] { return kernel_fork(s, 256ull << 20); }));
  if (want("guest_copy"))
    add("guest_copy", "bytes/s", vms_copy(s, 1 << 20),
        in_child([&] { return kernel_copy(s, 1 << 20); }));
  if (want("tlb_hit"))
    add("tlb_hit", "loads/s", vms_load(s), in_child([&] { return kernel_load(s); }));
  if (want("meta_per_page")) add("meta_per_page", "bytes per resident page", vms_meta(), -1);
  return out;
}

}  // namespace vmspace_cli
