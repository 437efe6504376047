// AddressSpace: construction, accounting and invariants (Linux: kernel/fork.c mm_init,
// mm/mmap.c may_expand_vm, vm_stat_account, mm/util.c __vm_enough_memory).
#include "mm/address_space.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include <cstdio>

#include "file/inode.hpp"
#include "mm/mm_context.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
unsigned log2_of(uint64_t x) {
  unsigned s = 0;
  while ((1ull << s) < x) s++;
  return s;
}
}  // namespace

AddressSpace::AddressSpace(MmContext &s, uint64_t rlimit_stack)
    : ctx(s),
      cfg(s.cfg),
      id(s.mm_ids.fetch_add(1)),
      page_size(s.cfg.page_size),
      page_shift(log2_of(s.cfg.page_size)),
      task_size((1ull << 47) - s.cfg.page_size),
      vmas(log2_of(s.cfg.page_size)),
      pt(&s.meter, &s.frames, &s.leaf_shares) {
  pt.keep_empty_tables();
  vmas.boundary_owner = this;
  vmas.on_boundary = [](void *owner, uint64_t addr) {
    if (addr & (kHugeBytes - 1)) static_cast<AddressSpace *>(owner)->split_huge(addr);
  };
  // Linux: arch/x86/mm/mmap.c arch_pick_mmap_layout / mmap_base, without randomisation.
  uint64_t gap = rlimit_stack;
  uint64_t pad = stack_guard_gap();
  if (gap + pad > gap) gap += pad;
  uint64_t gap_min = 128ull << 20;
  uint64_t gap_max = (task_size / 6) * 5;
  if (gap < gap_min)
    gap = gap_min;
  else if (gap > gap_max)
    gap = gap_max;
  mmap_base = page_align(task_size - gap);
  mmap_legacy_base = page_align(task_size / 3);
  topdown = !cfg.legacy_va_layout;
  if (!topdown) mmap_base = mmap_legacy_base;
  vmas.set_meter(&ctx.meter);
  ctx.meter.charge(kFixedBytes);
}

std::mutex &accessor_registry_mu() {
  static std::mutex mu;
  return mu;
}

namespace {
#if defined(__SANITIZE_THREAD__)
constexpr bool kSanitizingThreads = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kSanitizingThreads = true;
#else
constexpr bool kSanitizingThreads = false;
#endif
#else
constexpr bool kSanitizingThreads = false;
#endif
constexpr int kMembarrierPrivateExpedited = 1 << 3;
constexpr int kMembarrierRegisterPrivateExpedited = 1 << 4;
}  // namespace

bool accessor_light_barrier() {
  static const bool ok = !kSanitizingThreads &&
                         ::syscall(SYS_membarrier, kMembarrierRegisterPrivateExpedited, 0, 0) == 0;
  return ok;
}

namespace {
// The writer's half of the barrier pair: every thread that announced an access with a plain
// store has that store visible before the announcements are read.
// Without membarrier the readers announce with seq_cst stores, and the seq_cst bumps of
// the epochs and loads of the announcements here order themselves.
void heavy_barrier() {
  if (accessor_light_barrier()) ::syscall(SYS_membarrier, kMembarrierPrivateExpedited, 0, 0);
}

// Waits until no access of the registered Accessors is under way. An access that begins
// later sees the new generation (or no address space) and takes the slow path, which needs
// mmap_lock: the wait ends after at most one access per Accessor.
void wait_for_accesses(const std::vector<AccessorSlot *> &slots) {
  if (slots.empty()) return;
  heavy_barrier();
  for (AccessorSlot *a : slots)
    while (a->active->load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}
}  // namespace

AddressSpace::~AddressSpace() {
  {
    // Accessors forget this address space before anything of it goes.
    std::lock_guard<std::mutex> g(accessor_registry_mu());
    for (AccessorSlot *a : accessors) {
      a->mm.store(nullptr, std::memory_order_seq_cst);
      a->epoch->fetch_add(1, std::memory_order_seq_cst);
    }
    wait_for_accesses(accessors);
    accessors.clear();
  }
  clear(true);
  ctx.meter.charge(-kFixedBytes);
}

uint64_t AddressSpace::prot_of(uint64_t f) {
  return ((f & vm::read) ? lx::prot_read : 0) | ((f & vm::write) ? lx::prot_write : 0) |
         ((f & vm::exec) ? lx::prot_exec : 0);
}

void AddressSpace::notify_replaced() const {
  if (!listener) return;
  notify(LayoutChange::unmapped, 0, task_size);
  for (const Vma *v = vmas.tree.first(); v; v = VmaTree::next(v))
    notify(LayoutChange::mapped, v->start, v->end, prot_of(v->flags));
}

uint64_t AddressSpace::next_anon_id() { return ctx.anon_ids.fetch_add(1); }

// Linux: is_data_mapping / is_exec_mapping / is_stack_mapping.
static bool is_data_mapping(uint64_t f) {
  return (f & (vm::write | vm::shared | vm::stack)) == vm::write;
}
static bool is_exec_mapping(uint64_t f) {
  return (f & (vm::exec | vm::write | vm::stack)) == vm::exec;
}
static bool is_stack_mapping(uint64_t f) { return (f & vm::stack) == vm::stack; }

bool AddressSpace::may_expand_vm(uint64_t f, uint64_t npages, const TaskLimits &lim) const {
  if (total_vm + npages > (lim.rlimit_as >> page_shift)) return false;
  if (is_data_mapping(f) && data_vm + npages > (lim.rlimit_data >> page_shift)) {
    // Workaround for Valgrind: a soft limit of 0 falls back to the hard limit.
    if (lim.rlimit_data == 0 && data_vm + npages <= (lim.rlimit_data_max >> page_shift))
      return true;
    return false;
  }
  return true;
}

void AddressSpace::vm_stat_account(uint64_t f, int64_t npages) {
  total_vm += static_cast<uint64_t>(npages);
  if (is_exec_mapping(f))
    exec_vm += static_cast<uint64_t>(npages);
  else if (is_stack_mapping(f))
    stack_vm += static_cast<uint64_t>(npages);
  else if (is_data_mapping(f))
    data_vm += static_cast<uint64_t>(npages);
}

bool AddressSpace::vm_enough_memory(uint64_t npages, const TaskLimits &lim) {
  int64_t pages = static_cast<int64_t>(npages);
  ctx.committed_pages.fetch_add(pages);
  if (cfg.overcommit_memory == 1) return true;
  if (cfg.overcommit_memory == 0) {
    if (npages > ctx.total_ram_pages + ctx.total_swap_pages) {
      ctx.committed_pages.fetch_sub(pages);
      return false;
    }
    return true;
  }
  // OVERCOMMIT_NEVER: vm_commit_limit minus the reserves.
  int64_t allowed;
  if (cfg.overcommit_kbytes)
    allowed = static_cast<int64_t>(cfg.overcommit_kbytes >> (page_shift - 10));
  else
    allowed = static_cast<int64_t>(ctx.total_ram_pages * cfg.overcommit_ratio / 100);
  allowed += static_cast<int64_t>(ctx.total_swap_pages);
  if (!lim.cap_sys_admin)
    allowed -= static_cast<int64_t>(cfg.admin_reserve_kbytes >> (page_shift - 10));
  int64_t reserve = static_cast<int64_t>(cfg.user_reserve_kbytes >> (page_shift - 10));
  int64_t per_mm = static_cast<int64_t>(total_vm / 32);
  allowed -= per_mm < reserve ? per_mm : reserve;
  if (ctx.committed_pages.load() < allowed) return true;
  ctx.committed_pages.fetch_sub(pages);
  return false;
}

void AddressSpace::vm_unacct_memory(uint64_t npages) {
  ctx.committed_pages.fetch_sub(static_cast<int64_t>(npages));
}

uint64_t AddressSpace::vm_start_gap(const Vma &v) const {
  if (!(v.flags & vm::growsdown)) return v.start;
  uint64_t s = v.start - stack_guard_gap();
  return s > v.start ? 0 : s;
}

Vma *AddressSpace::insert_vma(const Vma &proto) {
  Vma *v = vmas.alloc(proto);
  vmas.link(v);
  vm_stat_account(v->flags, static_cast<int64_t>(pages(v->size())));
  if (v->flags & vm::locked) locked_vm += pages(v->size());
  if (v->flags & vm::account) ctx.committed_pages.fetch_add(static_cast<int64_t>(pages(v->size())));
  update_hiwater();
  return v;
}

void AddressSpace::clear(bool dying) {
  while (Vma *v = vmas.tree.first()) {
    zap(v->start, v->end, false, dying);
    if (v->flags & vm::account) vm_unacct_memory(pages(v->size()));
    vmas.remove(v);
  }
  total_vm = locked_vm = data_vm = exec_vm = stack_vm = 0;
  locked_vm_skew = 0;
}

bool AddressSpace::validate(std::string *why) const {
  std::string dummy;
  if (!why) why = &dummy;
  if (!vmas.tree.validate(why)) return false;
  uint64_t total = 0, locked = 0, data = 0, exec = 0, stack = 0;
  char buf[160];
  for (const Vma *v = vmas.tree.first(); v; v = VmaTree::next(v)) {
    if (!page_aligned(v->start) || !page_aligned(v->end) || v->start >= v->end ||
        v->end > task_size) {
      std::snprintf(buf, sizeof buf, "VMA %lx-%lx is not page aligned or outside user space",
                    (unsigned long)v->start, (unsigned long)v->end);
      *why = buf;
      return false;
    }
    if ((v->flags & vm::shared) && !(v->flags & vm::mayshare)) {
      *why = "VM_SHARED without VM_MAYSHARE";
      return false;
    }
    if (v->anon_has_parents && !v->anon) {
      *why = "anon chain without anon_vma";
      return false;
    }
    uint64_t n = pages(v->size());
    total += n;
    if (v->flags & vm::locked) locked += n;
    if (is_exec_mapping(v->flags))
      exec += n;
    else if (is_stack_mapping(v->flags))
      stack += n;
    else if (is_data_mapping(v->flags))
      data += n;
  }
  if (total != total_vm || locked + locked_vm_skew != locked_vm || data != data_vm ||
      exec != exec_vm || stack != stack_vm) {
    std::snprintf(buf, sizeof buf,
                  "counters: total %lu/%lu locked %lu/%lu data %lu/%lu exec %lu/%lu stack %lu/%lu",
                  (unsigned long)total, (unsigned long)total_vm,
                  (unsigned long)(locked + locked_vm_skew), (unsigned long)locked_vm,
                  (unsigned long)data, (unsigned long)data_vm, (unsigned long)exec,
                  (unsigned long)exec_vm, (unsigned long)stack, (unsigned long)stack_vm);
    *why = buf;
    return false;
  }
  return true;
}

void AddressSpace::invalidate_accessors() {
  std::lock_guard<std::mutex> g(accessor_registry_mu());
  for (AccessorSlot *a : accessors) a->epoch->fetch_add(1, std::memory_order_seq_cst);
  wait_for_accesses(accessors);
}

MmWriteLock::MmWriteLock(AddressSpace &mm) : mm_(mm) {
  mm_.mmap_lock.lock();
  mm_.invalidate_accessors();
  mm_.accessors_invalidated = true;
}

MmFaultLock::MmFaultLock(AddressSpace &mm) : mm_(mm) {
  mm_.mmap_lock.lock();
  mm_.accessors_invalidated = false;
}

MmFaultLock::~MmFaultLock() {
  mm_.accessors_invalidated = true;
  mm_.mmap_lock.unlock();
}

MmWriteLock::~MmWriteLock() { mm_.mmap_lock.unlock(); }

}  // namespace vmspace
