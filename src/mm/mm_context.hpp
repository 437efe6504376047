// MmContext: the machine an address space runs on, as the mm core sees it (Linux: the globals
// mm/ consults): kernel facts fixed at boot, the vm sysctls (changed at run time, read without
// a lock), the commit counter (vm_committed_as), anon_vma identities, the inode cache (shmem
// objects and huge page pools) and the host-memory meter. The System (src/sys) owns one and
// hands it to every AddressSpace; mm never sees processes, descriptors or file names.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/meter.hpp"
#include "file/inode.hpp"
#include "page/frames.hpp"
#include "page/page_table.hpp"
#include "vmspace/result.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

// What mm reads of the configuration. The sysctls are atomics: System::set_sysctl may change
// them while other threads run calls, as writing /proc/sys/vm/... may on Linux.
struct MmSettings {
  explicit MmSettings(const SystemConfig &c);

  // Kernel facts, fixed at boot.
  const uint64_t page_size;
  const uint64_t lsm_mmap_min_addr;
  const uint64_t admin_reserve_kbytes;
  const uint64_t user_reserve_kbytes;
  const bool transparent_hugepage;
  const bool gigantic_pages;
  const bool anon_vma_name;
  const bool zero_page;
  const uint64_t read_ahead_pages;  // the backing device's ra_pages

  // sysctls (/proc/sys/vm/...).
  std::atomic<uint64_t> max_map_count;
  std::atomic<uint64_t> mmap_min_addr;
  std::atomic<int> overcommit_memory;
  std::atomic<uint64_t> overcommit_ratio;
  std::atomic<uint64_t> overcommit_kbytes;
  std::atomic<uint64_t> stack_guard_gap_pages;
  std::atomic<bool> legacy_va_layout;
};

struct MmContext {
  explicit MmContext(const SystemConfig &c);
  MmContext(const MmContext &) = delete;
  MmContext &operator=(const MmContext &) = delete;

  MmSettings cfg;
  MemoryMeter meter;                        // declared before anything that charges it
  FramePool frames;                         // before the inodes, whose page caches use it
  LeafShares leaf_shares;                   // the page-table leaves forks share
  InodeCache inodes;                        // declared before anything that holds inodes
  std::atomic<int64_t> committed_pages{0};  // vm_committed_as
  uint64_t total_ram_pages = 0;
  uint64_t total_swap_pages = 0;
  std::atomic<uint64_t> anon_ids{1};
  std::atomic<uint64_t> mm_ids{1};  // AddressSpace::id
  // The [vdso] pages, one set for the System as the kernel has one image: frames made on the
  // first load from them (their bytes are zeros: vmspace has no vDSO code).
  Mutex vdso_mu;
  uint32_t vdso_frames[4] VMS_GUARDED_BY(vdso_mu) = {};
  uint32_t vdso_frame(uint64_t index) {
    if (index >= 4) return FramePool::kZero;
    MutexLock g(vdso_mu);
    if (vdso_frames[index] == FramePool::kZero) vdso_frames[index] = frames.alloc();
    return vdso_frames[index];
  }
  ~MmContext() {
    for (uint32_t f : vdso_frames)
      if (f != FramePool::kZero) frames.put(f);
  }
};

// For calls that may make VMAs, descriptors or processes: ENOMEM once the model's memory
// limit is reached (or would be by `more` bytes); see MemoryMeter.
inline Result<void> memory_available(MmContext &c, uint64_t more = 0) {
  if (c.meter.refuse(more)) return fail(Errno::nomem);
  return {};
}

// MemTotal and SwapTotal of the host, in bytes (0 when /proc/meminfo cannot be read).
void host_memory(uint64_t *ram, uint64_t *swap);

}  // namespace vmspace
