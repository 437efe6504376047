// AddressSpace: one guest address space (Linux: struct mm_struct) and the core operations on
// it: address selection, mapping, unmapping, protection changes, accounting.
//
// Lock order (see docs/locking.md):  mmap_lock -> inode lock -> frame pool.
// Layout changes take mmap_lock exclusively; faults and guest memory access take it shared.
// Functions named ...Locked expect the caller to hold mmap_lock exclusively; the syscall
// front ends in src/sys take it.
//
// Every operation checks in Linux's order and reproduces Linux's partial effects on failure
// (splits that stay after a later check fails, holes left by a failed MAP_FIXED); everything
// else is checked before the first visible change.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/ref.hpp"
#include "base/small_vector.hpp"
#include "mm/mm_context.hpp"
#include "page/page_table.hpp"
#include "vma/vma_set.hpp"
#include "vmspace/result.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

class PageCache;
class OpenFile;
struct MmContext;

class AddressSpace;

// What an Accessor shares with the address space it caches pages of: `active` is non-zero
// while one of its accesses is under way; its cached entries hold if they carry `epoch`,
// which every change of the page tables bumps; `mm` is the address space (null once it is
// gone). `active` and `epoch` live in the Accessor (its inline hit path reads them).
struct AccessorSlot {
  std::atomic<uint64_t> *active = nullptr;
  std::atomic<uint64_t> *epoch = nullptr;
  std::atomic<AddressSpace *> mm{nullptr};
};
// Guards every AddressSpace::accessors list and every AccessorSlot::mm change.
std::mutex &accessor_registry_mu();
// Whether Accessors may announce an access with a plain store (the writer side then forces
// a full barrier on every thread of the host process with membarrier(2)); false in
// ThreadSanitizer builds, which do not know membarrier, and where the host refuses it.
bool accessor_light_barrier();

// mmap_lock held exclusively, with the Accessors' caches invalidated (see accessors).
class MmWriteLock {
 public:
  explicit MmWriteLock(AddressSpace &mm);
  ~MmWriteLock();
  MmWriteLock(const MmWriteLock &) = delete;
  MmWriteLock &operator=(const MmWriteLock &) = delete;

 private:
  AddressSpace &mm_;
};

// mmap_lock held exclusively for faults, which add page-table entries and so leave the
// Accessors' cached pages valid; should one be dropped or replaced (copy-on-write, a page a
// file lost), the Accessors are invalidated first.
class MmFaultLock {
 public:
  explicit MmFaultLock(AddressSpace &mm);
  ~MmFaultLock();
  MmFaultLock(const MmFaultLock &) = delete;
  MmFaultLock &operator=(const MmFaultLock &) = delete;

 private:
  AddressSpace &mm_;
};

// What a task brings to a memory call: its limits and capabilities (Linux: current).
struct TaskLimits {
  uint64_t rlimit_as = ~0ull;
  uint64_t rlimit_data = ~0ull;
  uint64_t rlimit_data_max = ~0ull;
  uint64_t rlimit_memlock = 8ull << 20;
  uint64_t rlimit_stack = 8ull << 20;
  bool cap_ipc_lock = true;
  bool cap_sys_rawio = true;
  bool cap_sys_admin = true;
};

// The VMAs of [start, end) collected for removal (Linux: struct vma_munmap_struct).
struct UnmapPlan {
  uint64_t start = 0, end = 0;
  SmallVector<Vma *, 4> vmas;
  Vma *prev = nullptr;
  Vma *next = nullptr;
  uint64_t nr_pages = 0, locked = 0, nr_accounted = 0, exec = 0, stack = 0, data = 0;
};

// A mapping request after do_mmap's checks (Linux: mmap_region arguments).
struct MapRequest {
  uint64_t addr = 0;
  uint64_t len = 0;
  uint64_t flags = 0;  // VM_* bits
  uint64_t pgoff = 0;
  Ref<OpenFile> file;  // null for private anonymous memory
  bool populate = false;
  Special special = Special::none;
};

// An mmap call with its file resolved (Linux: do_mmap's arguments). pgoff in pages.
struct MmapRequest {
  uint64_t addr = 0;
  uint64_t len = 0;
  uint64_t prot = 0;   // PROT_* bits
  uint64_t flags = 0;  // MAP_* bits
  uint64_t pgoff = 0;
  Ref<OpenFile> file;  // null for anonymous memory
};

class AddressSpace {
 public:
  AddressSpace(MmContext &ctx, uint64_t rlimit_stack);
  ~AddressSpace();
  // What an address space costs the host besides its VMAs (charged to ctx.meter; the pools'
  // first chunks, the object itself, its process).
  static constexpr int64_t kFixedBytes = 16 << 10;
  // Before a call changes the layout (under mmap_lock, exclusively): the host-memory budget
  // allows it and the VMA set holds what one call may make, so that running out of memory
  // is ENOMEM before anything changed (Linux: vma_iter_prealloc).
  Result<void> prepare_change() {
    VMS_TRY(memory_available(ctx));
    if (!vmas.reserve()) return fail(Errno::nomem);
    return {};
  }

  MmContext &ctx;
  const MmSettings &cfg;
  const uint64_t id;  // unique among the System's address spaces, never reused
  const uint64_t page_size;
  const unsigned page_shift;
  const uint64_t task_size;  // TASK_SIZE: one page below 2^47
  VmaSet vmas;
  mutable std::shared_mutex mmap_lock;
  // Accessors (vmspace/accessor.hpp) load and store through host pointers they cached without
  // taking mmap_lock. Their entries carry their slot's epoch; every section that holds
  // mmap_lock exclusively (MmWriteLock) bumps the epochs and waits until no access that began
  // under an older one is still under way, so nothing it frees or changes is touched behind it.
  std::vector<AccessorSlot *> accessors;  // guarded by accessor_registry_mu()
  std::atomic<int> accessor_count{0};     // accessors.size(), read without the mutex
  // Under MmFaultLock (faults only add entries): false until a page-table entry is about to
  // be dropped or replaced, which invalidates the Accessors first (drop_entry).
  bool accessors_invalidated = true;
  // Bumps the Accessors' epochs and waits for the accesses under way (the caller holds mmap_lock
  // exclusively).
  void invalidate_accessors();

  // Layout (Linux: mm_struct fields).
  uint64_t mmap_base = 0;
  uint64_t mmap_legacy_base = 0;
  bool topdown = true;
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
  uint64_t start_brk = 0, brk = 0, start_stack = 0;
  uint64_t start_ip = 0;   // where execve left the first instruction (the loader's entry)
  uint64_t def_flags = 0;  // VM_LOCKED etc. after mlockall(MCL_FUTURE)
  bool has_vsyscall = true;

  // Accounting in pages (Linux: total_vm, locked_vm, data_vm, exec_vm, stack_vm).
  uint64_t total_vm = 0, locked_vm = 0, data_vm = 0, exec_vm = 0, stack_vm = 0;
  // What locked_vm holds beyond the pages of VM_LOCKED VMAs, modulo 2^64: Linux's own
  // accounting drifts in two places (mlock_fixup counts in an int; MREMAP_DONTUNMAP clears
  // VM_LOCKED on the old range without uncounting it), and vmspace drifts with it. validate()
  // checks locked pages + skew == locked_vm, so any other drift is a bug.
  uint64_t locked_vm_skew = 0;
  uint64_t hiwater_vm = 0;

  uint64_t page_align(uint64_t x) const { return (x + page_size - 1) & ~(page_size - 1); }
  bool page_aligned(uint64_t x) const { return (x & (page_size - 1)) == 0; }
  uint64_t pages(uint64_t bytes) const { return bytes >> page_shift; }
  uint64_t stack_guard_gap() const { return cfg.stack_guard_gap_pages << page_shift; }
  // The effective mmap_min_addr: the sysctl or the LSM floor, whichever is higher.
  uint64_t mmap_min_addr() const {
    const uint64_t sysctl = cfg.mmap_min_addr.load(std::memory_order_relaxed);
    return sysctl > cfg.lsm_mmap_min_addr ? sysctl : cfg.lsm_mmap_min_addr;
  }

  // ---- address selection (unmapped_area.cpp) ----
  // Linux: __get_unmapped_area. `file` may be null; vm_flags are the flags the VMA will have.
  Result<uint64_t> get_unmapped_area(const OpenFile *file, uint64_t addr, uint64_t len,
                                     uint64_t pgoff, uint64_t flags, uint64_t vm_flags);
  uint64_t vm_start_gap(const Vma &v) const;
  // get_unmapped_area(NULL, addr, len, 0, MAP_FIXED) as brk and mremap use it:
  // the range must fit below TASK_SIZE and respect vm.mmap_min_addr. Returns
  // Errno::none when it does.
  Result<void> check_fixed_range(uint64_t addr, uint64_t len, const TaskLimits &lim) const;

  // ---- layout-change notification (address_space.cpp) ----
  // Told after each change to the layout (Process::set_layout_listener), on the thread that
  // made it, with mmap_lock held.
  std::function<void(const LayoutChange &)> listener;
  void notify(LayoutChange::Kind kind, uint64_t start, uint64_t end, uint64_t prot = 0,
              uint64_t to = 0) const {
    if (listener && start < end) listener(LayoutChange{kind, start, end, prot, to});
  }
  // The whole address space changed (exec, layout import): all unmapped, then every VMA
  // mapped.
  void notify_replaced() const;
  // PROT_* bits of VM_* flags.
  static uint64_t prot_of(uint64_t vm_flags);

  // ---- msync, mincore (msync_mincore.cpp) ----
  // Linux: sys_msync below its lock. The caller holds mmap_lock.
  Result<void> msync(uint64_t start, uint64_t len, uint64_t flags) const;
  // Linux: sys_mincore's checks: *pages is the vector's length. With guest_vec, vec is a guest
  // address that must lie below TASK_SIZE (EFAULT).
  Result<void> mincore_check(uint64_t start, uint64_t len, uint64_t vec, bool guest_vec,
                             uint64_t *pages) const;
  // One step of mincore from start (at most `pages`): the pages it covers, ENOMEM at a hole.
  // The caller holds mmap_lock.
  Result<uint64_t> mincore_step(uint64_t start, uint64_t pages) const;
  // The residency of n pages from start, all in one VMA (Linux: mincore_pte_range): a page
  // mapped in this address space, or for a file the page in its page cache (vmspace's, or
  // for a host file the host kernel's); out[i] is 1 or 0.
  void mincore_fill(uint64_t start, uint64_t n, uint8_t *out, bool privileged) const;

  // ---- mapping (do_mmap.cpp, mmap_region.cpp) ----
  // Linux: do_mmap. Checks the request in Linux's order and maps it. The caller holds
  // mmap_lock exclusively.
  Result<uint64_t> do_mmap(const MmapRequest &r, const TaskLimits &lim);
  // Linux: mmap_region. Maps [addr, addr+len) (MAP_FIXED semantics: replaces what is there).
  Result<uint64_t> map_region(MapRequest &req, const TaskLimits &lim);

  // ---- unmapping (munmap.cpp) ----
  // Linux: do_vmi_munmap. Unmaps [start, start+len).
  Result<void> munmap(uint64_t start, uint64_t len);
  // Splits the edges of [start, end) (first is the first VMA overlapping it) and collects the
  // VMAs inside (Linux: vms_gather_munmap_vmas). Splits made before a failure stay.
  Result<void> gather_unmap(uint64_t start, uint64_t end, Vma *first, UnmapPlan &plan);
  // Removes the collected VMAs and updates the counters (Linux: vms_complete_munmap_vmas).
  void complete_unmap(UnmapPlan &plan);

  // ---- the heap (brk.cpp) ----
  // Linux: sys_brk. Returns the new break, or the old one when the request
  // fails.
  uint64_t do_brk(uint64_t brk, const TaskLimits &lim);
  // Linux: vm_brk_flags (the ELF loader's bss). extra_flags: VM_EXEC or 0.
  Result<void> vm_brk_flags(uint64_t addr, uint64_t len, uint64_t extra_flags,
                            const TaskLimits &lim);

  // ---- moving (mremap.cpp) ----
  // Linux: sys_mremap / do_mremap.
  Result<uint64_t> mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
                          uint64_t new_addr, const TaskLimits &lim);

  // ---- locking (mlock.cpp) ----
  // Linux: do_mlock (lock_flags: VM_LOCKED, | VM_LOCKONFAULT for mlock2
  // MLOCK_ONFAULT).
  Result<void> mlock(uint64_t start, uint64_t len, uint64_t lock_flags, const TaskLimits &lim);
  Result<void> munlock(uint64_t start, uint64_t len);
  Result<void> mlockall(uint64_t flags, const TaskLimits &lim);
  Result<void> munlockall();
  // Linux: mlock_fixup. Sets the lock flags of [start, end) of v; *out covers
  // that range.
  Result<void> mlock_fixup(Vma *v, uint64_t start, uint64_t end, uint64_t newflags, Vma **out);

  // ---- advice (madvise.cpp) ----
  // Linux: do_madvise. Advice that changes VMA flags splits and merges; advice
  // that changes page contents is validated (its page effects come with the
  // page layer).
  Result<void> madvise(uint64_t start, uint64_t len, int advice, const TaskLimits &lim);
  // Names anonymous memory (Linux: madvise_set_anon_name); name null clears.
  Result<void> set_anon_name(uint64_t start, uint64_t len, AnonName *name);

  // ---- sealing (mseal.cpp) ----
  Result<void> mseal(uint64_t start, uint64_t len, uint64_t flags);

  // ---- protection (mprotect.cpp) ----
  // Linux: do_mprotect_pkey after its argument checks.
  Result<void> mprotect(uint64_t start, uint64_t len, uint64_t prot, const TaskLimits &lim);

  // ---- faults and population (populate.cpp) ----
  // Gives v an anon_vma, reusing a compatible neighbour's (Linux: __anon_vma_prepare).
  void anon_vma_prepare(Vma *v);
  // Faults the range in as mm_populate does (write faults on private writable VMAs).
  void populate(uint64_t start, uint64_t len);
  // Linux: __mm_populate. The first error, unless ignore_errors.
  Result<void> populate_range(uint64_t start, uint64_t len, bool ignore_errors);
  // Faults [start, end) of v in (Linux: populate_vma_page_range).
  Result<void> fault_in(Vma *v, uint64_t start, uint64_t end);
  // Makes the pages of [start, end) in v present as loads (or stores) would, page by page
  // (Linux: get_user_pages): EFAULT at a guard marker or past the file's end, ENOMEM when
  // guest memory is exhausted; the pages before stay present.
  Result<void> populate_pages(Vma *v, uint64_t start, uint64_t end, bool write);
  // Whether every page of [start, end) in v can be faulted in without SIGBUS (inside its
  // file; a huge page available).
  bool backed(const Vma *v, uint64_t start, uint64_t end) const;
  // A user fault at addr (Linux: do_user_addr_fault, access_error, expand_stack and the
  // VMA-level part of handle_mm_fault). Returns signal 0 when the access succeeds.
  Fault fault(uint64_t addr, bool write, bool exec, const TaskLimits &lim);
  // Grows a VM_GROWSDOWN VMA down to addr (Linux: expand_downwards). Returns Errno::none.
  Result<void> expand_downwards(Vma *v, uint64_t addr, const TaskLimits &lim);

  // ---- accounting (address_space.cpp) ----
  // Linux: may_expand_vm.
  bool may_expand_vm(uint64_t vm_flags, uint64_t npages, const TaskLimits &lim) const;
  // Linux: vm_stat_account.
  void vm_stat_account(uint64_t vm_flags, int64_t npages);
  // Linux: security_vm_enough_memory_mm -> __vm_enough_memory. Charges on success.
  bool vm_enough_memory(uint64_t npages, const TaskLimits &lim);
  void vm_unacct_memory(uint64_t npages);
  void update_hiwater() {
    if (total_vm > hiwater_vm) hiwater_vm = total_vm;
  }

  // ---- fork (fork.cpp) ----
  // Copies this address space for a fork child (Linux: dup_mm / dup_mmap): VMAs
  // marked VM_DONTCOPY are left out, locks are not inherited, VM_WIPEONFORK
  // VMAs start without anonymous memory, and the others get a child anon_vma
  // chained to the parent's.
  Result<std::shared_ptr<AddressSpace>> fork_copy(const TaskLimits &lim);

  // ---- layout (layout.cpp) ----
  // Installs [vvar], [vvar_vclock], [vdso] below mmap_base and the initial [stack], as exec of
  // a static binary leaves them.
  void install_kernel_mappings();
  // [vvar], [vvar_vclock] and [vdso], top-down below what is mapped (Linux: map_vdso).
  void install_vdso();
  // The initial [stack]: [start, task_size), growing down (Linux: setup_arg_pages).
  void install_stack(uint64_t start, uint64_t extra_flags);
  // Inserts a fully described VMA (import and exec); accounts it.
  Vma *insert_vma(const Vma &proto);
  // Removes every VMA (exit, import). `dying`: the address space goes next, so its page
  // tables go as they empty (a leaf shared since fork is let go of, not replaced).
  void clear(bool dying = false);

  // ---- guest memory (memory.cpp) ----
  // Page-table entries of this address space (the frames are ctx.frames').
  PageTable pt;
  // Resident pages (Linux: MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES) and the high-water mark
  // of their sum (VmHWM). The zero page is not counted.
  uint64_t rss_anon = 0, rss_file = 0, rss_shmem = 0, hiwater_rss = 0;
  uint64_t rss() const { return rss_anon + rss_file + rss_shmem; }
  // What an imported layout's status said beyond what vmspace holds: RssAnon, RssFile,
  // RssShmem and VmHWM in pages, VmPTE in kB (pages vmspace never saw; a fork passes them on).
  uint64_t rss_base[5] = {};
  // Loads map only the faulting page (a layout import making its pages present).
  bool no_fault_around = false;
  // Guest loads and stores of len bytes at addr, one byte after another in ascending order:
  // each stops at the first fault (the Fault's addr is the byte that faulted), with the bytes
  // before it copied (loads) or stored (stores). An access that would wrap runs to the top.
  Fault read_mem(uint64_t addr, uint8_t *out, uint64_t len, const TaskLimits &lim);
  Fault write_mem(uint64_t addr, const uint8_t *in, uint64_t len, const TaskLimits &lim);
  Fault fill_mem(uint64_t addr, uint8_t byte, uint64_t len, const TaskLimits &lim);
  // Loads addr and every page start below addr+len; `write` stores each loaded byte back (a
  // write fault that changes nothing).
  Fault touch_mem(uint64_t addr, uint64_t len, bool write, bool exec, const TaskLimits &lim);
  // The page holding addr in host memory, made present for a load or a store after fault()
  // allowed it (Linux: handle_mm_fault below the VMA checks: the zero page, a new anonymous
  // page, the page cache, copy-on-write). Null when guest memory is exhausted.
  // The file pages a read fault on an uncached page reads (do_sync_mmap_readahead).
  struct ReadAround {
    uint64_t from, pages;
    uint64_t async = 0;  // the last pages, whose first gets PG_readahead (0: none)
  };
  ReadAround read_around(const Vma *v, uint64_t pgoff) const;
  // A load that SIGBUSes past the file's end: the cached pages of its window are mapped
  // first, as do_read_fault's fault-around does before filemap_fault fails.
  void fault_around_past_eof(Vma *v, uint64_t addr);
  // Reads those pages into the page cache (pgoff itself is not cached).
  void read_pages(const Vma *v, PageCache *pc, uint64_t pgoff);
  // A load's fault-around and read-around on a file page (memory.cpp).
  void fault_around(Vma *v, uint64_t addr, PageCache *pc, uint64_t kind);
  // Maps the cached pages of [from, to) in v that are not mapped yet (filemap_map_pages).
  void map_cached(Vma *v, PageCache *pc, uint64_t from, uint64_t to, uint64_t kind);
  uint8_t *page_for(Vma *v, uint64_t addr, bool write);
  // Drops the pages of [start, end) (munmap, MADV_DONTNEED, exit); guard markers too unless
  // keep_guards (MADV_DONTNEED keeps them). A huge window cut by the range is split first;
  // the page table of a huge window wholly inside goes with it, and with reclaim_tables
  // (MADV_DONTNEED: CONFIG_PT_RECLAIM) so does every table left empty wholly inside.
  void zap(uint64_t start, uint64_t end, bool keep_guards = false, bool reclaim_tables = false);

  // MADV_FREE's effect on the pages of [start, end) (Linux: madvise_free_pte_range): private
  // anonymous pages become clean and old and lazy-free, first in a batch of 31 that only
  // lru_drain() (or the batch filling up) marks; the pages and contents stay (no reclaim).
  void lazy_free(uint64_t start, uint64_t end);
  // Linux: lru_add_drain on this CPU, as the next MADV_FREE, MADV_COLD/PAGEOUT, mlock and fork
  // do: the batched MADV_FREE pages show as LazyFree.
  void lru_drain();
  std::vector<uint64_t> lazy_batch;  // virtual page numbers

  // The code of the SIGKILL fault an access gets when guest memory is exhausted: the task
  // layer then runs the OOM killer (SystemState::oom_kill) and retries or dies; callers see
  // SI_KERNEL.
  static constexpr int kOomFaultCode = -1;

  // ---- transparent huge pages (THP "madvise" mode, PMD size only; memory.cpp) ----
  static constexpr uint64_t kHugeBytes = 2ull << 20;
  // Linux: thp_vma_allowable_order for a fault plus pmd_none: anonymous memory with
  // MADV_HUGEPAGE whose aligned 2 MiB window around addr lies in v and has no page table.
  bool thp_fault_allowed(const Vma *v, uint64_t addr) const;
  // Maps the window around addr by "PMD": a new huge page for a store, the huge zero page for
  // a load (do_huge_pmd_anonymous_page). False when the pool has no room (fall back to 4K).
  bool huge_fault(Vma *v, uint64_t addr, bool write);
  // A store to a copy-on-write huge window (do_huge_pmd_wp_page): the huge zero page gets a
  // huge page of its own, an exclusive huge page is reused; true when the window is
  // writable now, false when it was split instead (the store then copies one page).
  bool huge_write(uint64_t addr);
  // Linux: split_huge_pmd: the window holding addr, when huge, is mapped page by page from
  // now on (its pages stay).
  void split_huge(uint64_t addr);
  // MADV_COLLAPSE of the whole window at h (anonymous memory): the errno, or none.
  Errno collapse_window(Vma *v, uint64_t h);
  // Drops entries of pages a page cache gave up since the last look (memory.cpp).
  void drop_stale();
  uint64_t seen_evictions_ = 0;
  // MADV_PAGEOUT's effect on the pages of [start, end) in v (memory.cpp).
  void pageout(Vma *v, uint64_t start, uint64_t end);
  // MADV_GUARD_INSTALL / MADV_GUARD_REMOVE: markers that make any access SIGSEGV.
  void install_guards(uint64_t start, uint64_t end);
  void remove_guards(uint64_t start, uint64_t end);
  // Moves the pages of [from, from+len) to [to, to+len) (mremap): prepare_move may throw
  // std::bad_alloc and changes nothing; commit_move cannot fail.
  struct PageMove {
    std::vector<std::pair<uint64_t, uint64_t>> entries;  // (page offset, entry)
    uint64_t from = 0, to = 0;                           // first pages
  };
  void prepare_move(uint64_t from, uint64_t to, uint64_t len, PageMove &m);
  void commit_move(PageMove &m);
  // Gives the child the pages of the parent VMA v it copies (fork): shared memory is shared,
  // private memory becomes copy-on-write in both (Linux: copy_page_range, only where
  // vma_needs_copy: VMAs with an anon_vma; others fault again in the child).
  void fork_pages(AddressSpace &child, const Vma &v);
  // Writes back the dirty page-cache pages of the shared file mappings in [start, end)
  // (msync MS_SYNC). The first write-back error.
  Result<void> sync_range(uint64_t start, uint64_t end);

  // ---- inspection ----
  bool validate(std::string *why) const;

  uint64_t next_anon_id();

 private:
  Result<uint64_t> vm_unmapped_area(bool topdown, uint64_t length, uint64_t low, uint64_t high,
                                    uint64_t align_mask, uint64_t align_offset, uint64_t start_gap);
  Result<uint64_t> arch_get_unmapped_area(uint64_t addr0, uint64_t len, uint64_t pgoff,
                                          uint64_t flags, uint64_t align_mask);
  Result<uint64_t> arch_get_unmapped_area_topdown(uint64_t addr0, uint64_t len, uint64_t pgoff,
                                                  uint64_t flags, uint64_t align_mask);
  Result<uint64_t> mm_get_unmapped_area(uint64_t addr, uint64_t len, uint64_t pgoff, uint64_t flags,
                                        uint64_t align_mask);
  Result<uint64_t> thp_get_unmapped_area(uint64_t addr, uint64_t len, uint64_t pgoff,
                                         uint64_t flags);
  Result<void> apply_vma_lock_flags(uint64_t start, uint64_t len, uint64_t flags);
  uint64_t count_mlocked_pages(uint64_t start, uint64_t len) const;
};

}  // namespace vmspace
