// Accessor: a software TLB over an address space's page tables. See vmspace/accessor.hpp.
//
// The fast path announces itself in its AccessorSlot (active != 0), then checks that the
// cached entry was made under the address space's current tlb_gen (and that no page was
// cleaned for write-back or left a page cache since, for stores); only then does it touch
// the host pointer, and it withdraws the announcement afterwards. Everything that changes
// page tables holds mmap_lock through MmWriteLock, which bumps tlb_gen and waits until no
// announced access is under way: an access either finished before the change or sees the new
// generation and takes the slow path, which faults the page in under the lock.
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
constexpr unsigned kEntries = 256;
}  // namespace

struct Accessor::Impl {
  std::shared_ptr<Task> task;
  AccessorSlot slot;
  struct Entry {
    uint64_t vpn = ~0ull;
    uint8_t *page = nullptr;
    uint64_t gen = 0, cleans = 0, evictions = 0;
    int perms = 0;
  };
  Entry tlb[kEntries];
  uint64_t hits = 0, misses = 0;
  FramePool *frames = nullptr;  // of the registered address space (valid while it lives)
  unsigned shift = 12;
  const bool light = accessor_light_barrier();

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
  }
  void flush() {
    for (Entry &e : tlb) e.vpn = ~0ull;
  }

  // The fast path: the host address of addr when the TLB allows `need`, with the access
  // announced (the caller ends it with done()); null otherwise.
  uint8_t *enter(uint64_t addr, int need) {
    // Announce, then look (a Dekker pair with wait_for_accesses: with membarrier on the
    // writer's side a plain store and a compiler barrier do here).
    if (light) {
      slot.active.store(1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      slot.active.store(1, std::memory_order_seq_cst);
    }
    AddressSpace *m = slot.mm.load(std::memory_order_acquire);
    if (m) {
      const uint64_t vpn = addr >> shift;
      const Entry &e = tlb[vpn % kEntries];
      if (e.vpn == vpn && e.gen == m->tlb_gen.load(std::memory_order_acquire) &&
          (e.perms & need) == need && e.evictions == frames->evictions() &&
          (!(need & kWrite) || e.cleans == frames->cleans())) {
        hits++;
        return e.page + (addr & ((1ull << shift) - 1));
      }
    }
    slot.active.store(0, std::memory_order_release);
    return nullptr;
  }
  void done() { slot.active.store(0, std::memory_order_release); }

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
      shift = mm.page_shift;
      flush();
    }
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
    // page_for gives the page's start.
    const uint64_t vpn = addr >> shift;
    Entry &e = tlb[vpn % kEntries];
    e.vpn = vpn;
    e.page = p;
    e.gen = mm.tlb_gen.load(std::memory_order_relaxed);
    e.cleans = frames->cleans();
    e.evictions = frames->evictions();
    // A load may have mapped a page shared copy-on-write: only a store fault makes it
    // writable. Any allowed access implies that loads work (x86).
    e.perms = need | kRead;
    // The pages after it that are mapped already (fault-around, earlier faults) are cached
    // too, for loads (and stores where the entry already allows them without a fault).
    const int exec_bit = (v->flags & vm::exec) ? kExec : 0;
    const bool readable = v->flags & (vm::read | vm::write | vm::exec);
    for (uint64_t n = vpn + 1; readable && n < vpn + 16 && (n << shift) < v->end; n++) {
      const uint64_t pe = mm.pt.get(n);
      if (!(pe & pte::present)) continue;
      Entry &x = tlb[n % kEntries];
      x.vpn = n;
      x.page = frames->data(pte::frame(pe));
      x.gen = e.gen;
      x.cleans = e.cleans;
      x.evictions = e.evictions;
      const bool writable = (v->flags & vm::write) && !(pe & pte::cow) && (pe & pte::dirty) &&
                            ((pe & pte::anon) || frames->dirty(pte::frame(pe)));
      x.perms = kRead | exec_bit | (writable ? kWrite : 0);
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

  [[gnu::noinline]] Fault read_slow(uint64_t addr, uint8_t *o, uint64_t len) {
    if (!task) return Fault{lx::sigkill, 0, addr};
    return each_page(addr, len, kRead,
                     [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(o + at, p, n); });
  }
  [[gnu::noinline]] Fault write_slow(uint64_t addr, const uint8_t *i, uint64_t len) {
    if (!task) return Fault{lx::sigkill, 0, addr};
    return each_page(addr, len, kWrite,
                     [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(p, i + at, n); });
  }

  // Runs op(host, offset in the access, bytes) page by page in ascending order.
  template <class Op>
  Fault each_page(uint64_t addr, uint64_t len, int need, Op op) {
    uint64_t done_bytes = 0;
    const uint64_t ps = 1ull << shift;
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

Accessor::Accessor(const Process &p) : impl_(std::make_unique<Impl>()) { impl_->task = p.t_; }

Accessor::~Accessor() = default;

namespace {
// A copy of a small access with the sizes emulators use as constants (no call to memcpy).
inline void copy_small(uint8_t *to, const uint8_t *from, uint64_t len) {
  switch (len) {
    case 8:
      std::memcpy(to, from, 8);
      break;
    case 4:
      std::memcpy(to, from, 4);
      break;
    case 2:
      std::memcpy(to, from, 2);
      break;
    case 1:
      *to = *from;
      break;
    default:
      std::memcpy(to, from, len);
  }
}
}  // namespace

// The fast paths stay small (one TLB lookup, a copy); everything else is out of line, so that
// a hit does not pay for the slow path's stack frame.
Fault Accessor::read(uint64_t addr, void *out, uint64_t len) {
  Impl &m = *impl_;
  if (len <= 16 && ((addr & ((1ull << m.shift) - 1)) + len) <= (1ull << m.shift)) {
    if (uint8_t *p = m.enter(addr, kRead)) {
      copy_small(static_cast<uint8_t *>(out), p, len);
      m.done();
      return Fault{};
    }
  }
  return m.read_slow(addr, static_cast<uint8_t *>(out), len);
}

Fault Accessor::fetch(uint64_t addr, void *out, uint64_t len) {
  if (!impl_->task) return Fault{lx::sigkill, 0, addr};
  uint8_t *o = static_cast<uint8_t *>(out);
  return impl_->each_page(addr, len, kExec,
                          [&](uint8_t *p, uint64_t at, uint64_t n) { std::memcpy(o + at, p, n); });
}

Fault Accessor::write(uint64_t addr, const void *in, uint64_t len) {
  Impl &m = *impl_;
  if (len <= 16 && ((addr & ((1ull << m.shift) - 1)) + len) <= (1ull << m.shift)) {
    if (uint8_t *p = m.enter(addr, kWrite)) {
      copy_small(p, static_cast<const uint8_t *>(in), len);
      m.done();
      return Fault{};
    }
  }
  return m.write_slow(addr, static_cast<const uint8_t *>(in), len);
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
  const auto &e = impl_->tlb[(addr >> impl_->shift) % kEntries];
  t->host = host;
  t->read = true;
  t->write = e.perms & kWrite;
  t->exec = e.perms & kExec;
  return Fault{};
}

void Accessor::flush() { impl_->flush(); }
uint64_t Accessor::hits() const { return impl_->hits; }
uint64_t Accessor::misses() const { return impl_->misses; }

}  // namespace vmspace
