// `vmspace bench`: the same memory-call sequences on vmspace and on the host kernel, in one
// run, reported as operations per second and their ratio.
//
// Figures
//   mmap_munmap             anonymous 4 KiB mmap + munmap pairs in a fresh process
//   mprotect_split_merge    mprotect of the middle page of a 3-page VMA to PROT_READ and back
//   mprotect_flip@N         with N VMAs (pages of alternating protection), flip the protection
//                           of a page chosen at random (a merge of three VMAs, then a split
//                           back): every step lands somewhere else in the address space
//   mprotect_walk@N         the same flips, walking the pages in address order (the locality
//                           of a JIT toggling W^X on recent code, or of a GC sweeping guards)
//   mmap_munmap@N           the pair above with N VMAs in the address space
// N is 10, 1000, 30000 and 1000000; the kernel stops at vm.max_map_count (n/a).
//   replay                  `vmspace replay` of a 1,000,000-call trace from its text (parse,
//                           run, compare), against the kernel making the same calls
//                           (bench_replay.cpp)
//   anon_fault, file_fault, cow_fault, fork_256m, guest_copy, tlb_hit, meta_per_page
//                           the page layer (bench_pages.cpp)
// Each side repeats its operation for a fixed time; the kernel side runs in a forked child so
// that the tool's own memory does not disturb it.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tools/vmspace/bench.hpp"
#include "tools/vmspace/commands.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

namespace {

using Clock = std::chrono::steady_clock;
namespace lx = vmspace::lx;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRegion = 0x100000000ull;  // where the N VMAs live

// The memory-call interface both sides implement.
struct Ops {
  std::function<uint64_t(uint64_t, uint64_t, uint64_t, uint64_t)> mmap;  // addr, len, prot, flags
  std::function<int(uint64_t, uint64_t)> munmap;
  std::function<int(uint64_t, uint64_t, uint64_t)> mprotect;
};

Ops kernel_ops() {
  Ops o;
  o.mmap = [](uint64_t a, uint64_t l, uint64_t p, uint64_t f) {
    return reinterpret_cast<uint64_t>(
        ::mmap(reinterpret_cast<void *>(a), l, static_cast<int>(p), static_cast<int>(f), -1, 0));
  };
  o.munmap = [](uint64_t a, uint64_t l) { return ::munmap(reinterpret_cast<void *>(a), l); };
  o.mprotect = [](uint64_t a, uint64_t l, uint64_t p) {
    return ::mprotect(reinterpret_cast<void *>(a), l, static_cast<int>(p));
  };
  return o;
}

Ops vmspace_ops(vmspace::Process &p) {
  Ops o;
  o.mmap = [&p](uint64_t a, uint64_t l, uint64_t pr, uint64_t f) {
    return p.mmap(a, l, pr, f, ~0ull, 0).value_or(~0ull);
  };
  o.munmap = [&p](uint64_t a, uint64_t l) { return p.munmap(a, l) ? 0 : -1; };
  o.mprotect = [&p](uint64_t a, uint64_t l, uint64_t pr) { return p.mprotect(a, l, pr) ? 0 : -1; };
  return o;
}

enum class Kind { pair, split_merge, flip, walk };

struct Figure {
  std::string name;
  Kind kind;
  uint64_t n;  // VMAs to set up (0: none)
};

// Creates n VMAs: n pages at kRegion, every other page read-only.
bool setup_vmas(const Ops &o, uint64_t n) {
  if (n == 0) return true;
  uint64_t r = o.mmap(kRegion, n * kPage, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE);
  if (r != kRegion) return false;
  for (uint64_t i = 1; i < n; i += 2)
    if (o.mprotect(kRegion + i * kPage, kPage, PROT_READ) != 0) return false;
  return true;
}

// Runs the figure's operation for about `seconds`; returns operations per second (0: failed).
double measure(const Ops &o, const Figure &f, double seconds) {
  if (!setup_vmas(o, f.n)) return 0;
  uint64_t sm = 0;
  if (f.kind == Kind::split_merge) {
    sm = o.mmap(0, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (sm == ~0ull) return 0;
  }
  uint64_t lcg = 12345;
  uint64_t odd = f.n >= 3 ? (f.n - 1) / 2 : 0;  // number of read-only pages strictly inside
  uint64_t ops = 0;
  auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int k = 0; k < 256; k++) {
      switch (f.kind) {
        case Kind::pair: {
          uint64_t a = o.mmap(0, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
          if (a == ~0ull || o.munmap(a, kPage) != 0) return 0;
          ops++;
          break;
        }
        case Kind::split_merge:
          if (o.mprotect(sm + kPage, kPage, PROT_READ) != 0) return 0;
          if (o.mprotect(sm + kPage, kPage, PROT_READ | PROT_WRITE) != 0) return 0;
          ops += 2;
          break;
        case Kind::flip:
        case Kind::walk: {
          uint64_t i;
          if (f.kind == Kind::flip) {
            lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
            i = 2 * ((lcg >> 33) % odd) + 1;
          } else {
            i = 2 * (ops / 2 % odd) + 1;
          }
          uint64_t a = kRegion + i * kPage;
          if (o.mprotect(a, kPage, PROT_READ | PROT_WRITE) != 0) return 0;
          if (o.mprotect(a, kPage, PROT_READ) != 0) return 0;
          ops += 2;
          break;
        }
      }
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return static_cast<double>(ops) / elapsed;
}

double measure_kernel(const Figure &f, double seconds) {
  return in_child([&] { return measure(kernel_ops(), f, seconds); });
}

double measure_vmspace(const Figure &f, double seconds) {
  vmspace::SystemConfig cfg;
  cfg.max_map_count = 1u << 24;  // vmspace is not limited by the host's setting
  vmspace::System sys(cfg);
  vmspace::Process p = sys.spawn();
  return measure(vmspace_ops(p), f, seconds);
}

uint64_t host_max_map_count() {
  FILE *f = std::fopen("/proc/sys/vm/max_map_count", "r");
  unsigned long long v = 65530;
  if (f) {
    if (std::fscanf(f, "%llu", &v) != 1) v = 65530;
    std::fclose(f);
  }
  return v;
}

}  // namespace

double in_child(const std::function<double()> &measure) {
  int fds[2];
  if (::pipe(fds) != 0) return 0;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    double r = measure();
    ssize_t w = ::write(fds[1], &r, sizeof r);
    ::_exit(w == sizeof r ? 0 : 1);
  }
  ::close(fds[1]);
  double r = 0;
  if (pid < 0 || ::read(fds[0], &r, sizeof r) != sizeof r) r = 0;
  ::close(fds[0]);
  int status;
  if (pid > 0) ::waitpid(pid, &status, 0);
  return r;
}

int cmd_bench(const std::vector<std::string> &args) {
  bool quick = false;
  std::vector<std::string> only;
  for (const std::string &a : args) {
    if (a == "--quick")
      quick = true;
    else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "vmspace bench: unknown option '%s'\n", a.c_str());
      return 2;
    } else
      only.push_back(a);
  }
  std::vector<Figure> figures = {{"mmap_munmap", Kind::pair, 0},
                                 {"mprotect_split_merge", Kind::split_merge, 0}};
  for (uint64_t n : {10ull, 1000ull, 30000ull, 1000000ull}) {
    figures.push_back({"mprotect_flip@" + std::to_string(n), Kind::flip, n});
    figures.push_back({"mprotect_walk@" + std::to_string(n), Kind::walk, n});
    figures.push_back({"mmap_munmap@" + std::to_string(n), Kind::pair, n});
  }
  bool replay = true, pages = true;
  std::vector<std::string> page_only;
  if (!only.empty()) {
    std::vector<Figure> sel;
    replay = false;
    pages = false;
    size_t named = 0;
    for (const std::string &o : only) {
      if (o == "replay") {
        replay = true;
        named++;
      }
      if (is_page_figure(o)) {
        pages = true;
        page_only.push_back(o);
        named++;
      }
      for (const Figure &f : figures)
        if (f.name == o) {
          sel.push_back(f);
          named++;
        }
    }
    if (named != only.size()) {
      std::fprintf(stderr, "vmspace bench: unknown figure; known:");
      for (const Figure &f : figures) std::fprintf(stderr, " %s", f.name.c_str());
      std::fprintf(stderr,
                   " replay anon_fault file_fault cow_fault fork_256m guest_copy tlb_hit "
                   "meta_per_page\n");
      return 2;
    }
    figures = sel;
  }
  const double seconds = quick ? 0.25 : 1.5;
  const uint64_t limit = host_max_map_count();
  bool tty = ::isatty(1);
  struct Row {
    std::string name;
    double v, k;
  };
  std::vector<Row> rows;
  for (const Figure &f : figures) {
    double v = measure_vmspace(f, seconds);
    // The kernel cannot hold more VMAs than vm.max_map_count (minus the process's own).
    double k = f.n + 100 < limit ? measure_kernel(f, seconds) : -1;
    rows.push_back({f.name, v, k});
    if (k > 0)
      std::printf("%s vmspace=%.0f kernel=%.0f ratio=%.2f\n", f.name.c_str(), v, k, v / k);
    else
      std::printf("%s vmspace=%.0f kernel=n/a ratio=n/a\n", f.name.c_str(), v);
    std::fflush(stdout);
  }
  bool replay_ok = true;
  if (replay) {
    ReplayFigure rf;
    replay_ok = bench_replay(quick, &rf);
    std::printf("replay vmspace=%.0f kernel=%.0f ratio=%.2f calls=%ld identical=%ld bytes=%zu\n",
                rf.vmspace, rf.kernel, rf.kernel > 0 ? rf.vmspace / rf.kernel : 0.0, rf.calls,
                rf.identical, rf.bytes);
    rows.push_back({"replay (calls/s)", replay_ok ? rf.vmspace : 0, rf.kernel});
  }
  if (pages)
    for (const PageFigure &f : bench_pages(quick, page_only))
      rows.push_back({f.name + " (" + f.unit + ")", f.vmspace, f.kernel});
  if (tty) {
    std::printf("\n%-26s %14s %14s %8s\n", "figure", "vmspace op/s", "kernel op/s", "ratio");
    for (const Row &r : rows) {
      if (r.k > 0)
        std::printf("%-26s %14.0f %14.0f %7.1fx\n", r.name.c_str(), r.v, r.k, r.v / r.k);
      else
        std::printf("%-26s %14.0f %14s %8s\n", r.name.c_str(), r.v, "n/a", "n/a");
    }
  }
  for (const Row &r : rows)
    if (r.v <= 0) return 1;
  return replay_ok ? 0 : 1;
}

}  // namespace vmspace_cli
