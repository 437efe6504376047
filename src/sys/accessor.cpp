// Accessor: a software TLB over an address space's page tables. See vmspace/accessor.hpp.
//
// The hit path (inline in the header) announces itself in `active`, then checks that the
// cached entry was made under the Accessor's current epoch and the frame pool's current
// epoch (no page cleaned for write-back or given up by a page cache since); only then does it
// touch the host pointer, and it withdraws the announcement afterwards. Everything that
// changes page tables holds mmap_lock through MmWriteLock (or drops an entry under the fault
// lock), which bumps the epoch of every Accessor of the address space and waits until no
// announced access is under way: an access either finished before the change or sees the new
// epoch and takes the slow path, which faults the page in under the lock.
#include "vmspace/accessor.hpp"

#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
constexpr int kRead = 1, kWrite = 2, kExec = 4;
}  // namespace

struct Accessor::Impl {
  explicit Impl(detail::AccessorState &st) : s(st) {
    s.light = accessor_light_barrier();
    slot.active = &s.active;
    slot.epoch = &s.epoch;
    flush();
  }
  std::shared_ptr<Task> task;
  detail::AccessorState &s;
  AccessorSlot slot;
  uint64_t misses = 0;
  FramePool *frames = nullptr;  // of the registered address space (valid while it lives)

  ~Impl() {
    std::lock_guard<std::mutex> g(accessor_registry_mu());
    unregister_locked();
  }
  void unregister_locked() {
    AddressSpace *m = slot.mm.load(std::memory_order_relaxed);
    if (!m) return;
    auto &v = m->accessors;
    for (size_t i = 0; i < v.size(); i++)
      if (v[i] == &slot) {
        v[i] = v.back();
        v.pop_back();
        m->accessor_count.fetch_sub(1, std::memory_order_release);
        break;
      }
    slot.mm.store(nullptr, std::memory_order_seq_cst);
    s.epoch.fetch_add(1, std::memory_order_seq_cst);
  }
  void flush() {
    for (detail::TlbEntry &e : s.tlb) e.tag = ~0ull;
  }
  void set(uint64_t vpn, uint8_t *page, int perms, uint64_t epoch, uint64_t pool_epoch) {
    detail::TlbEntry &e = s.tlb[vpn % detail::kTlbEntries];
    e.tag = (vpn << 3) | static_cast<uint64_t>(perms);
    e.page = page;
    e.epoch = epoch;
    e.pool_epoch = pool_epoch;
  }
  uint8_t *enter(uint64_t addr, int need) {
    // Pages only (not the header's 16-byte limit): a whole page's part of a longer access.
    if (s.light) {
      s.active.store(1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      s.active.store(1, std::memory_order_seq_cst);
    }
    const uint64_t vpn = addr >> s.shift;
    const uint64_t mask = ~static_cast<uint64_t>(7 ^ need);
    const detail::TlbEntry &e = s.tlb[vpn % detail::kTlbEntries];
    if ((e.tag & mask) == ((vpn << 3) | static_cast<uint64_t>(need)) &&
        e.epoch == s.epoch.load(std::memory_order_seq_cst) &&
        e.pool_epoch == s.pool_epoch->load(std::memory_order_acquire))
      return e.page + (addr & ((1ull << s.shift) - 1));
    s.active.store(0, std::memory_order_release);
    return nullptr;
  }
  void done() { s.active.store(0, std::memory_order_release); }

  // The slow path: under the address space's lock, the page is faulted in as the guest's
  // access would, cached, and op(host address) runs before the lock is dropped.
  template <class Op>
  Fault slow(uint64_t addr, int need, Op op) {
    misses++;
    Task *t = task.get();
    std::shared_lock<SharedLock> life(t->life_mu);
    if (!t->alive) {
      Fault f;
      f.signal = lx::sigkill;
      f.addr = addr;
      return f;
    }
    AddressSpace &mm = t->mm();
    MmFaultLock lock(mm);
    if (slot.mm.load(std::memory_order_relaxed) != &mm) {
      // A new address space (the first access, or after execve).
      std::lock_guard<std::mutex> g(accessor_registry_mu());
      unregister_locked();
      mm.accessors.push_back(&slot);
      mm.accessor_count.fetch_add(1, std::memory_order_release);
      slot.mm.store(&mm, std::memory_order_seq_cst);
      frames = &mm.ctx.frames;
      s.pool_epoch = &frames->tlb_epoch();
      s.shift = mm.page_shift;
      flush();
    }
    // Read before the fault: a clean or eviction after it leaves the entry stale, never the
    // other way round.
    const uint64_t pool_epoch = frames->tlb_epoch().load(std::memory_order_seq_cst);
    mm.drop_stale();
    const bool write = need & kWrite, exec = need & kExec;
    Fault f = mm.fault(addr, write, exec, task_limits(*t));
    if (f) {
      if (f.code != lx::si_kernel) f.addr = addr;
      return f;
    }
    Vma *v = mm.vmas.tree.find(addr);
    uint8_t *p = mm.page_for(v, addr, write);
    if (!p) {
      f.signal = lx::sigkill;  // guest memory exhausted: slow_retry runs the OOM killer
      f.code = AddressSpace::kOomFaultCode;
      f.addr = addr;
      return f;
    }
    // page_for gives the page's start. The epoch changes only under the locks held here
    // (by this fault too, when it replaced an entry): read after the fault.
    const unsigned shift = s.shift;
    const uint64_t vpn = addr >> shift;
    const uint64_t epoch = s.epoch.load(std::memory_order_relaxed);
    // A load may have mapped a page shared copy-on-write: only a store fault makes it
    // writable. Any allowed access implies that loads work (x86).
    set(vpn, p, need | kRead, epoch, pool_epoch);
    // The pages after it that are mapped already (fault-around, earlier faults) are cached
    // too, for loads (and stores where the entry already allows them without a fault).
    const int exec_bit = (v->flags & vm::exec) ? kExec : 0;
    const bool readable = v->flags & (vm::read | vm::write | vm::exec);
    for (uint64_t n = vpn + 1; readable && n < vpn + 16 && (n << shift) < v->end; n++) {
      const uint64_t pe = mm.pt.get(n);
      if (!(pe & pte::present)) continue;
      const bool writable = (v->flags & vm::write) && !(pe & pte::cow) && (pe & pte::dirty) &&
                            ((pe & pte::anon) || frames->dirty(pte::frame(pe)));
      set(n, frames->data(pte::frame(pe)), kRead | exec_bit | (writable ? kWrite : 0), epoch,
          pool_epoch);
    }
    op(p + (addr & ((1ull << shift) - 1)));
    return Fault{};
  }

  // slow() until it does not run out of guest memory: each time, with no lock held, the OOM
  // killer ends the process with the most memory; when that is this one, its SIGKILL.
  template <class Op>
  Fault slow_retry(uint64_t addr, int need, Op op) {
    for (;;) {
      Fault f = slow(addr, need, op);
      if (!(f.signal == lx::sigkill && f.code == AddressSpace::kOomFaultCode)) return f;
      if (!task->state_.oom_kill(task->pid())) {
        f.code = lx::si_kernel;
        return f;
      }
    }
  }

  // Runs op(host, offset in the access, bytes) page by page in ascending order.
  template <class Op>
  Fault each_page(uint64_t addr, uint64_t len, int need, Op op) {
    uint64_t done_bytes = 0;
    const uint64_t ps = 1ull << s.shift;
    while (done_bytes < len) {
      const uint64_t a = addr + done_bytes;
      if (a < addr) break;
      const uint64_t n = std::min(ps - (a & (ps - 1)), len - done_bytes);
      if (uint8_t *p = enter(a, need)) {
        op(p, done_bytes, n);
        done();
      } else {
        Fault f = slow_retry(a, need, [&](uint8_t *q) { op(q, done_bytes, n); });
        if (f) return f;
      }
      done_bytes += n;
    }
    return Fault{};
  }
};

Accessor::Accessor(const Process &p) : impl_(std::make_unique<Impl>(s_)) { impl_->task = p.t_; }

Accessor::~Accessor() = default;

Fault Accessor::read_slow(uint64_t addr, void *out, uint64_t len) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  uint8_t *o = static_cast<uint8_t *>(out);
  return impl_->each_page(addr, len, kRead,
                          [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(o + at, p, n); });
}

Fault Accessor::write_slow(uint64_t addr, const void *in, uint64_t len) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  const uint8_t *i = static_cast<const uint8_t *>(in);
  return impl_->each_page(addr, len, kWrite,
                          [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(p, i + at, n); });
}

Fault Accessor::fetch(uint64_t addr, void *out, uint64_t len) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  uint8_t *o = static_cast<uint8_t *>(out);
  return impl_->each_page(addr, len, kExec,
                          [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(o + at, p, n); });
}

Fault Accessor::fill(uint64_t addr, uint8_t byte, uint64_t len) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  return impl_->each_page(addr, len, kWrite,
                          [&](uint8_t *p, uint64_t, uint64_t n) { std::memset(p, byte, n); });
}

namespace {
template <class T>
uint64_t rmw_on(uint8_t *p, int op, uint64_t expected, uint64_t value) {
  T *x = reinterpret_cast<T *>(p);
  switch (op) {
    case 0: {
      T e = static_cast<T>(expected);
      __atomic_compare_exchange_n(x, &e, static_cast<T>(value), false, __ATOMIC_SEQ_CST,
                                  __ATOMIC_SEQ_CST);
      return e;
    }
    case 1:
      return __atomic_fetch_add(x, static_cast<T>(value), __ATOMIC_SEQ_CST);
    default:
      return __atomic_exchange_n(x, static_cast<T>(value), __ATOMIC_SEQ_CST);
  }
}

uint64_t rmw_sized(uint8_t *p, unsigned size, int op, uint64_t expected, uint64_t value) {
  switch (size) {
    case 1:
      return rmw_on<uint8_t>(p, op, expected, value);
    case 2:
      return rmw_on<uint16_t>(p, op, expected, value);
    case 4:
      return rmw_on<uint32_t>(p, op, expected, value);
    default:
      return rmw_on<uint64_t>(p, op, expected, value);
  }
}
}  // namespace

Fault Accessor::rmw(uint64_t addr, unsigned size, Rmw op, uint64_t expected, uint64_t value,
                    uint64_t *old) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  Impl &m = *impl_;
  if ((addr & (size - 1)) == 0) {
    // Aligned: one page, a host atomic.
    if (uint8_t *p = m.enter(addr, kWrite)) {
      *old = rmw_sized(p, size, op, expected, value);
      m.done();
      return Fault{};
    }
    return m.slow_retry(addr, kWrite,
                        [&](uint8_t *p) { *old = rmw_sized(p, size, op, expected, value); });
  }
  // Unaligned (a split lock): byte by byte under the address space's lock, which keeps every
  // other access of it out meanwhile. First all bytes become writable (faults as a store).
  uint8_t bytes[8];
  Fault f = read(addr, bytes, size);
  if (!f) f = write(addr, bytes, size);
  if (f) return f;
  Task *t = m.task.get();
  std::shared_lock<SharedLock> life(t->life_mu);
  if (!t->alive) return Fault{lx::sigkill, 0, addr};
  AddressSpace &mm = t->mm();
  MmWriteLock lock(mm);
  uint64_t cur = 0;
  for (unsigned i = 0; i < size; i++) {
    Vma *v = mm.vmas.tree.find(addr + i);
    uint8_t *p = v && v->start <= addr + i ? mm.page_for(v, addr + i, true) : nullptr;
    if (!p) return Fault{lx::sigsegv, 1, addr + i};  // changed under us: as unmapped
    cur |= static_cast<uint64_t>(p[(addr + i) & (mm.page_size - 1)]) << (8 * i);
  }
  const uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
  uint64_t next = cur;
  if (op == kCas) next = (cur & mask) == (expected & mask) ? value : cur;
  if (op == kAdd) next = cur + value;
  if (op == kXchg) next = value;
  for (unsigned i = 0; i < size; i++)
    mm.page_for(mm.vmas.tree.find(addr + i), addr + i, true)[(addr + i) & (mm.page_size - 1)] =
        static_cast<uint8_t>(next >> (8 * i));
  *old = cur & mask;
  return Fault{};
}

Fault Accessor::translate(uint64_t addr, bool write, Translation *t) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  uint8_t *host = nullptr;
  const int need = write ? kWrite : kRead;
  if (uint8_t *p = impl_->enter(addr, need)) {
    host = p;
    impl_->done();
  } else {
    Fault f = impl_->slow_retry(addr, need, [&](uint8_t *p) { host = p; });
    if (f) return f;
  }
  const uint64_t perms = s_.tlb[(addr >> s_.shift) % detail::kTlbEntries].tag & 7;
  t->host = host;
  t->read = true;
  t->write = perms & kWrite;
  t->exec = perms & kExec;
  return Fault{};
}

void Accessor::flush() { impl_->flush(); }
uint64_t Accessor::misses() const { return impl_->misses; }

}  // namespace vmspace
