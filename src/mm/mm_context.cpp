// The machine as the mm core sees it. See mm_context.hpp.
#include "mm/mm_context.hpp"

#include <algorithm>
#include <cstdio>

namespace vmspace {

namespace {
uint64_t memory_limit_of(const SystemConfig &cfg) {
  if (cfg.max_memory) return cfg.max_memory;
  uint64_t ram = 0, swap = 0;
  host_memory(&ram, &swap);
  return ram ? ram / 4 : 1ull << 30;
}
uint64_t ram_limit_of(const SystemConfig &cfg) {
  if (cfg.ram_limit) return cfg.ram_limit;
  uint64_t ram = 0, swap = 0;
  host_memory(&ram, &swap);
  return ram ? ram / 4 : 1ull << 30;
}
}  // namespace

void host_memory(uint64_t *ram, uint64_t *swap) {
  *ram = 0;
  *swap = 0;
  FILE *f = std::fopen("/proc/meminfo", "re");
  if (!f) return;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb;
    if (std::sscanf(line, "MemTotal: %llu kB", &kb) == 1) *ram = kb * 1024;
    if (std::sscanf(line, "SwapTotal: %llu kB", &kb) == 1) *swap = kb * 1024;
  }
  std::fclose(f);
}

MmSettings::MmSettings(const SystemConfig &c)
    : page_size(c.page_size),
      lsm_mmap_min_addr(c.lsm_mmap_min_addr),
      admin_reserve_kbytes(c.admin_reserve_kbytes),
      user_reserve_kbytes(c.user_reserve_kbytes),
      transparent_hugepage(c.transparent_hugepage),
      gigantic_pages(c.gigantic_pages),
      anon_vma_name(c.anon_vma_name),
      zero_page(c.zero_page),
      read_ahead_pages(std::min<uint64_t>(c.read_ahead_kb, 1 << 20) * 1024 / c.page_size),
      max_map_count(c.max_map_count),
      mmap_min_addr(c.mmap_min_addr),
      overcommit_memory(c.overcommit_memory),
      overcommit_ratio(c.overcommit_ratio),
      overcommit_kbytes(c.overcommit_kbytes),
      stack_guard_gap_pages(c.stack_guard_gap_pages),
      legacy_va_layout(c.legacy_va_layout) {}

MmContext::MmContext(const SystemConfig &c)
    : cfg(c), meter(memory_limit_of(c)), frames(c.page_size, ram_limit_of(c), &meter) {
  inodes.set_frames(&frames);
  uint64_t ram = c.total_ram_bytes, swap = c.total_swap_bytes;
  if (ram == 0) host_memory(&ram, &swap);
  total_ram_pages = ram / c.page_size;
  total_swap_pages = swap / c.page_size;
  inodes.set_huge_pool(c.hugepages_2m, c.hugepages_1g);
}

}  // namespace vmspace
