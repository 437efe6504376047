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
// direct-mapped) without any lock.
//
// Thread safety: one Accessor per guest thread (an Accessor itself is not shared); any number
// of Accessors and Process calls on the same address space may run at once. Every layout or
// page-table change (munmap, mprotect, mremap, copy-on-write, zaps, execve, exit) invalidates
// all TLBs of the address space and waits for the accesses under way: a cached pointer is
// never used after what it points to changed. Atomics of 2, 4 and 8 bytes are atomic with
// respect to each other when aligned; unaligned ones are serialized under the address
// space's lock (a split lock).
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>

#include "vmspace/process.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

class Accessor {
 public:
  explicit Accessor(const Process &p);
  ~Accessor();
  Accessor(const Accessor &) = delete;
  Accessor &operator=(const Accessor &) = delete;

  Fault read(uint64_t addr, void *out, uint64_t len);
  Fault write(uint64_t addr, const void *in, uint64_t len);
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
  // TLB hits and misses so far (for benchmarks and tests).
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  enum Rmw : int { kCas, kAdd, kXchg };
  template <class T>
  static constexpr void check() {
    static_assert(std::is_unsigned_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 ||
                                            sizeof(T) == 8),
                  "Accessor atomics take uint8_t, uint16_t, uint32_t or uint64_t");
  }
  Fault rmw(uint64_t addr, unsigned size, Rmw op, uint64_t expected, uint64_t value,
            uint64_t *old);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmspace
