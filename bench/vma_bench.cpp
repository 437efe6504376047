// Google Benchmark micro-benchmarks of vmspace alone, for development (profiling, comparing
// data-structure changes). `vmspace bench` is the benchmark that compares with the kernel.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace {

using namespace vmspace;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kRegion = 0x100000000ull;

System *make_system() {
  SystemConfig cfg;
  cfg.max_map_count = 1u << 24;
  return new System(cfg);
}

// n pages at kRegion, every other one read-only: n VMAs.
void setup(Process &p, uint64_t n) {
  (void)p.mmap(kRegion, n * kPage, lx::prot_read | lx::prot_write,
               lx::map_private | lx::map_anonymous | lx::map_fixed | lx::map_noreserve, ~0ull, 0);
  for (uint64_t i = 1; i < n; i += 2) (void)p.mprotect(kRegion + i * kPage, kPage, lx::prot_read);
}

void BM_MprotectFlip(benchmark::State &state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  System *sys = make_system();
  Process p = sys->spawn();
  setup(p, n);
  uint64_t lcg = 12345, odd = (n - 1) / 2;
  for (auto _ : state) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t a = kRegion + (2 * ((lcg >> 33) % odd) + 1) * kPage;
    benchmark::DoNotOptimize(p.mprotect(a, kPage, lx::prot_read | lx::prot_write).ok());
    benchmark::DoNotOptimize(p.mprotect(a, kPage, lx::prot_read).ok());
  }
  state.SetItemsProcessed(state.iterations() * 2);
  delete sys;
}
BENCHMARK(BM_MprotectFlip)->Arg(10)->Arg(1000)->Arg(30000)->Arg(1000000);

void BM_MmapMunmap(benchmark::State &state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  System *sys = make_system();
  Process p = sys->spawn();
  if (n) setup(p, n);
  for (auto _ : state) {
    auto a = p.mmap(0, kPage, lx::prot_read | lx::prot_write, lx::map_private | lx::map_anonymous,
                    ~0ull, 0);
    benchmark::DoNotOptimize(p.munmap(*a, kPage).ok());
  }
  state.SetItemsProcessed(state.iterations());
  delete sys;
}
BENCHMARK(BM_MmapMunmap)->Arg(0)->Arg(1000)->Arg(30000)->Arg(1000000);

void BM_Maps(benchmark::State &state) {
  System *sys = make_system();
  Process p = sys->spawn();
  setup(p, static_cast<uint64_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(p.maps().size());
  delete sys;
}
BENCHMARK(BM_Maps)->Arg(100)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
