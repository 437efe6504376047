// `vmspace bench replay`: how fast `vmspace replay` runs a trace, against the host kernel
// making the same calls.
//
// A deterministic mix of memory calls (anonymous mmap of 1-16 pages, mprotect splitting a
// page off and merging it back, madvise(MADV_DONTNEED), mremap growing a mapping, munmap) over
// 32 slots is made once on vmspace and written as a trace with every call's result, the way
// `vmspace record` writes one. The vmspace figure is the replay of that text from the first
// byte: parsing, checking and running every call and comparing every result, as
// `vmspace replay` does. The kernel figure is a forked child making the same calls directly.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "tools/vmspace/bench.hpp"
#include "trace/calls.hpp"
#include "trace/runner.hpp"
#include "trace/script.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kPage = 4096;
constexpr int kSlots = 32;

struct Op {
  enum Kind : uint8_t { map, protect, unprotect, dontneed, grow, unmap } kind;
  uint8_t slot;
  uint16_t pages;  // map: the size; grow: the new size
};

// The call mix: each slot is mapped, changed a few times and unmapped again.
std::vector<Op> make_ops(size_t n) {
  std::vector<Op> ops;
  ops.reserve(n);
  uint16_t pages[kSlots] = {};
  bool split[kSlots] = {};
  uint64_t lcg = 42;
  while (ops.size() < n) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    const uint8_t s = static_cast<uint8_t>((lcg >> 33) % kSlots);
    const unsigned r = static_cast<unsigned>((lcg >> 45) % 8);
    if (!pages[s]) {
      pages[s] = static_cast<uint16_t>(1 + (lcg >> 20) % 16);
      ops.push_back({Op::map, s, pages[s]});
    } else if (split[s]) {
      ops.push_back({Op::unprotect, s, pages[s]});
      split[s] = false;
    } else if (r < 3 && pages[s] > 1) {
      ops.push_back({Op::protect, s, pages[s]});
      split[s] = true;
    } else if (r == 3) {
      ops.push_back({Op::dontneed, s, pages[s]});
    } else if (r == 4 && pages[s] < 64) {
      pages[s] = static_cast<uint16_t>(pages[s] + 1);
      ops.push_back({Op::grow, s, pages[s]});
    } else {
      ops.push_back({Op::unmap, s, pages[s]});
      pages[s] = 0;
    }
  }
  return ops;
}

// The calls on the host kernel; returns calls per second (0: a call failed).
double kernel_rate(const std::vector<Op> &ops) {
  uint64_t addr[kSlots] = {}, len[kSlots] = {};
  auto start = Clock::now();
  for (const Op &o : ops) {
    void *a = reinterpret_cast<void *>(addr[o.slot]);
    const size_t l = o.pages * kPage;
    switch (o.kind) {
      case Op::map: {
        void *m = ::mmap(nullptr, l, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 0;
        addr[o.slot] = reinterpret_cast<uint64_t>(m);
        len[o.slot] = l;
        break;
      }
      case Op::protect:
        if (::mprotect(a, kPage, PROT_READ) != 0) return 0;
        break;
      case Op::unprotect:
        if (::mprotect(a, kPage, PROT_READ | PROT_WRITE) != 0) return 0;
        break;
      case Op::dontneed:
        if (::madvise(a, len[o.slot], MADV_DONTNEED) != 0) return 0;
        break;
      case Op::grow: {
        void *m = ::mremap(a, len[o.slot], l, MREMAP_MAYMOVE);
        if (m == MAP_FAILED) return 0;
        addr[o.slot] = reinterpret_cast<uint64_t>(m);
        len[o.slot] = l;
        break;
      }
      case Op::unmap:
        if (::munmap(a, len[o.slot]) != 0) return 0;
        break;
    }
  }
  return static_cast<double>(ops.size()) /
         std::chrono::duration<double>(Clock::now() - start).count();
}

// The calls made on vmspace and written as a trace with their results.
std::string make_trace(const std::vector<Op> &ops) {
  using vmspace::ArgVal;
  vmspace::SystemConfig cfg;
  vmspace::System sys(cfg);
  vmspace::Process p = sys.spawn();
  const vmspace::CallDef *mmap_def = vmspace::find_call("mmap"),
                         *mprotect_def = vmspace::find_call("mprotect"),
                         *madvise_def = vmspace::find_call("madvise"),
                         *mremap_def = vmspace::find_call("mremap"),
                         *munmap_def = vmspace::find_call("munmap");
  uint64_t addr[kSlots] = {}, len[kSlots] = {};
  std::string out = "# vmspace bench replay: " + std::to_string(ops.size()) + " calls\n";
  std::vector<ArgVal> a;
  auto arg = [&](uint64_t v) {
    a.emplace_back();
    a.back().v = v;
  };
  for (const Op &o : ops) {
    a.clear();
    const vmspace::CallDef *def = nullptr;
    const uint64_t l = o.pages * kPage;
    switch (o.kind) {
      case Op::map:
        def = mmap_def;
        for (uint64_t v : std::initializer_list<uint64_t>{0ull, l, 3ull, 0x22ull, ~0ull, 0ull})
          arg(v);
        break;
      case Op::protect:
      case Op::unprotect:
        def = mprotect_def;
        for (uint64_t v : std::initializer_list<uint64_t>{addr[o.slot], kPage,
                                                          o.kind == Op::protect ? 1ull : 3ull})
          arg(v);
        break;
      case Op::dontneed:
        def = madvise_def;
        for (uint64_t v : std::initializer_list<uint64_t>{addr[o.slot], len[o.slot], 4ull}) arg(v);
        break;
      case Op::grow:
        def = mremap_def;
        for (uint64_t v : std::initializer_list<uint64_t>{addr[o.slot], len[o.slot], l, 1ull})
          arg(v);
        break;
      case Op::unmap:
        def = munmap_def;
        for (uint64_t v : std::initializer_list<uint64_t>{addr[o.slot], len[o.slot]}) arg(v);
        break;
    }
    const vmspace::CallOutcome r = def->exec(p, a);
    if (!r.ok) return "";
    if (o.kind == Op::map || o.kind == Op::grow) {
      addr[o.slot] = r.value;
      len[o.slot] = l;
    }
    std::string line = vmspace::format_call(*def, a);
    if (line.size() < 39) line.append(39 - line.size(), ' ');
    out += "1 " + line + " = " + vmspace::format_result(*def, r) + "\n";
  }
  return out;
}

}  // namespace

bool bench_replay(bool quick, ReplayFigure *fig) {
  const size_t n = quick ? 300000 : 1000000;
  const std::vector<Op> ops = make_ops(n);
  const std::string trace = make_trace(ops);
  if (trace.empty()) return false;
  vmspace::RunStats stats;
  std::string error;
  auto start = Clock::now();
  {
    vmspace::SystemConfig cfg;
    vmspace::System sys(cfg);
    vmspace::ParseOptions po;
    vmspace::ScriptReader reader(trace, "<bench>", po);
    vmspace::RunOptions ro;
    ro.out = nullptr;
    ro.stats = &stats;
    if (vmspace::run_stream(reader, "<bench>", trace.size(), sys, ro, &error) != vmspace::run_ok)
      return false;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fig->calls = stats.calls;
  fig->identical = stats.calls - stats.calls_differing;
  fig->bytes = trace.size();
  fig->vmspace = static_cast<double>(stats.calls) / seconds;
  fig->kernel = in_child([&] { return kernel_rate(ops); });
  return fig->identical == static_cast<long>(n) && fig->kernel > 0;
}

}  // namespace vmspace_cli
