// Accessor: fast guest memory access for one guest thread (an emulator's loads, stores and
// atomics), with Linux's faults.
//
//   vmspace::Accessor acc(process);
//   uint64_t v;
//   if (vmspace::Fault f = acc.read(addr, &v, 8)) deliver(f);   // SIGSEGV, SIGBUS, ...
//   acc.write(addr, &v, 8);
//   uint32_t expected = 0;
//   bool swapped;
//   acc.compare_exchange<uint32_t>(lock_addr, expected, 1, &swapped);
//
// Each access behaves as the guest's own load or store: the first touch of a page faults it
// in as Process::read/write do (demand zero, page cache, copy-on-write), a forbidden access
// returns the Fault Linux would deliver (never an exception), and bytes before a fault are
// done. After the first access a page is reached through a small software TLB (256 entries,
// direct-mapped) without any lock or call: the hit path of read and write is inline here.
//
// Thread safety: one Accessor per guest thread (an Accessor itself is not shared); any number
// of Accessors and Process calls on the same address space may run at once. Every layout or
// page-table change (munmap, mprotect, mremap, copy-on-write, zaps, execve, exit) invalidates
// all TLBs of the address space and waits for the accesses under way: a cached pointer is
// never used after what it points to changed. Atomics of 2, 4 and 8 bytes are atomic with
// respect to each other when aligned; unaligned ones are serialized under the address
// space's lock (a split lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "vmspace/process.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

namespace detail {
// The TLB an Accessor keeps; internal (the layout may change between versions).
struct TlbEntry {
  uint64_t tag = ~0ull;  // page number << 3 | what it allows: 1 load, 2 store, 4 fetch
  uint8_t *page = nullptr;
  uint64_t epoch = 0;       // the Accessor's epoch when cached
  uint64_t pool_epoch = 0;  // the frame pool's epoch when cached
};
inline constexpr unsigned kTlbEntries = 256;
struct AccessorState {
  // Non-zero while an access through a cached pointer is under way.
  std::atomic<uint64_t> active{0};
  // Bumped by every change of the address space's page tables (and when it goes).
  std::atomic<uint64_t> epoch{1};
  // Bumped when any page is cleaned for write-back or leaves a page cache.
  const std::atomic<uint64_t> *pool_epoch = nullptr;
  unsigned shift = 12;
  bool light = false;  // announcements need only a compiler barrier (membarrier on the writer)
  TlbEntry tlb[kTlbEntries];
};
}  // namespace detail

class Accessor {
 public:
  explicit Accessor(const Process &p);
  ~Accessor();
  Accessor(const Accessor &) = delete;
  Accessor &operator=(const Accessor &) = delete;

  Fault read(uint64_t addr, void *out, uint64_t len) {
    if (uint8_t *p = enter(addr, len, kLoad)) {
      copy_small(static_cast<uint8_t *>(out), p, len);
      leave();
      return Fault{};
    }
    return read_slow(addr, out, len);
  }
  Fault write(uint64_t addr, const void *in, uint64_t len) {
    if (uint8_t *p = enter(addr, len, kStore)) {
      copy_small(p, static_cast<const uint8_t *>(in), len);
      leave();
      return Fault{};
    }
    return write_slow(addr, in, len);
  }
  Fault fill(uint64_t addr, uint8_t byte, uint64_t len);
  // An instruction fetch: the pages need VM_EXEC.
  Fault fetch(uint64_t addr, void *out, uint64_t len);

  // Atomic read-modify-write of a 1, 2, 4 or 8 byte unsigned value (a store access).
  template <class T>
  Fault compare_exchange(uint64_t addr, T &expected, T desired, bool *swapped) {
    check<T>();
    uint64_t old = 0;
    Fault f = rmw(addr, sizeof(T), kCas, expected, desired, &old);
    if (!f) {
      *swapped = static_cast<T>(old) == expected;
      expected = static_cast<T>(old);
    }
    return f;
  }
  template <class T>
  Fault fetch_add(uint64_t addr, T value, T *old) {
    check<T>();
    uint64_t o = 0;
    Fault f = rmw(addr, sizeof(T), kAdd, 0, value, &o);
    if (!f) *old = static_cast<T>(o);
    return f;
  }
  template <class T>
  Fault exchange(uint64_t addr, T value, T *old) {
    check<T>();
    uint64_t o = 0;
    Fault f = rmw(addr, sizeof(T), kXchg, 0, value, &o);
    if (!f) *old = static_cast<T>(o);
    return f;
  }

  // The host address of addr's byte and what the page allows now: valid until the next
  // layout change of the address space (the caller must not keep it past a call that may
  // change the layout). A write translation makes the page writable (copy-on-write done).
  struct Translation {
    uint8_t *host = nullptr;
    bool read = false, write = false, exec = false;
  };
  Fault translate(uint64_t addr, bool write, Translation *t);

  // Forgets every cached page (never needed for correctness).
  void flush();
  // Accesses that missed the TLB so far (for benchmarks and tests; hits are not counted,
  // which would cost the hit path a store).
  uint64_t misses() const;

 private:
  static constexpr uint64_t kLoad = 1, kStore = 2;
  // The hit path: the host address of an access of at most 16 bytes within one page that the
  // TLB allows, with the access announced (leave() ends it); null otherwise. Announce, then
  // look: a Dekker pair with the writer, which bumps the epoch and then waits for `active`.
  uint8_t *enter(uint64_t addr, uint64_t len, uint64_t need) {
    const unsigned shift = s_.shift;
    const uint64_t off = addr & ((uint64_t{1} << shift) - 1);
    if (len > 16 || off + len > (uint64_t{1} << shift)) return nullptr;
    if (s_.light) {
      s_.active.store(1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      s_.active.store(1, std::memory_order_seq_cst);
    }
    const uint64_t vpn = addr >> shift;
    const detail::TlbEntry &e = s_.tlb[vpn % detail::kTlbEntries];
    if ((e.tag & ~(7 ^ need)) == ((vpn << 3) | need) &&
        e.epoch == s_.epoch.load(std::memory_order_seq_cst) &&
        e.pool_epoch == s_.pool_epoch->load(std::memory_order_acquire))
      return e.page + off;
    s_.active.store(0, std::memory_order_release);
    return nullptr;
  }
  void leave() { s_.active.store(0, std::memory_order_release); }
  // A copy with the sizes emulators use as constants (no call to memcpy).
  static void copy_small(uint8_t *to, const uint8_t *from, uint64_t len) {
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
  Fault read_slow(uint64_t addr, void *out, uint64_t len);
  Fault write_slow(uint64_t addr, const void *in, uint64_t len);
  enum Rmw : int { kCas, kAdd, kXchg };
  template <class T>
  static constexpr void check() {
    static_assert(std::is_unsigned_v<T> &&
                      (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8),
                  "Accessor atomics take uint8_t, uint16_t, uint32_t or uint64_t");
  }
  Fault rmw(uint64_t addr, unsigned size, Rmw op, uint64_t expected, uint64_t value, uint64_t *old);
  detail::AccessorState s_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmspace
