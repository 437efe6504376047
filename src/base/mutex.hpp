// A mutex that Clang's thread-safety analysis understands (-Wthread-safety).
//
// libstdc++'s std::mutex carries no capability attributes, so members marked
// VMS_GUARDED_BY(mu_) are only checked when mu_ is a vmspace::Mutex locked through a
// MutexLock (or a function marked VMS_REQUIRES(mu_)). Under gcc the attributes vanish and this
// is std::mutex. See docs/locking.md for the lock order.
//
// Example
//   class Table {
//     Mutex mu_;
//     std::map<int, int> rows_ VMS_GUARDED_BY(mu_);
//     void add_locked(int k) VMS_REQUIRES(mu_) { rows_[k]++; }
//    public:
//     void add(int k) { MutexLock g(mu_); add_locked(k); }
//   };
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#if defined(__clang__)
#define VMS_THREAD_ATTR(x) __attribute__((x))
#else
#define VMS_THREAD_ATTR(x)
#endif

#define VMS_CAPABILITY(name) VMS_THREAD_ATTR(capability(name))
#define VMS_SCOPED_CAPABILITY VMS_THREAD_ATTR(scoped_lockable)
#define VMS_GUARDED_BY(m) VMS_THREAD_ATTR(guarded_by(m))
#define VMS_PT_GUARDED_BY(m) VMS_THREAD_ATTR(pt_guarded_by(m))
#define VMS_REQUIRES(...) VMS_THREAD_ATTR(requires_capability(__VA_ARGS__))
#define VMS_ACQUIRE(...) VMS_THREAD_ATTR(acquire_capability(__VA_ARGS__))
#define VMS_RELEASE(...) VMS_THREAD_ATTR(release_capability(__VA_ARGS__))
#define VMS_RETURN_CAPABILITY(m) VMS_THREAD_ATTR(lock_returned(m))
#define VMS_EXCLUDES(...) VMS_THREAD_ATTR(locks_excluded(__VA_ARGS__))
#define VMS_NO_THREAD_SAFETY_ANALYSIS VMS_THREAD_ATTR(no_thread_safety_analysis)

namespace vmspace {

class VMS_CAPABILITY("mutex") Mutex {
 public:
  void lock() VMS_ACQUIRE() { m_.lock(); }
  void unlock() VMS_RELEASE() { m_.unlock(); }

 private:
  std::mutex m_;
};

// Holds a Mutex for its scope (std::lock_guard, annotated).
class VMS_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex &m) VMS_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~MutexLock() VMS_RELEASE() { m_.unlock(); }
  MutexLock(const MutexLock &) = delete;
  MutexLock &operator=(const MutexLock &) = delete;

 private:
  Mutex &m_;
};

// A reader-writer lock for a lock taken shared by every call and exclusively almost never
// (a task's life: calls hold it shared, exit and credential changes exclusively). Taking it
// shared is one atomic add and releasing it one atomic subtract (std::shared_mutex costs a
// pthread_rwlock call each way, which showed as 10% of the cheapest memory calls). Writers
// are serialised by a plain mutex, set the writer bit, and wait for the readers to drain;
// readers that arrive meanwhile back off until the writer is done. Meets the Lockable and
// SharedLockable requirements (std::unique_lock, std::shared_lock).
class VMS_CAPABILITY("mutex") SharedLock {
 public:
  void lock_shared() VMS_THREAD_ATTR(acquire_shared_capability()) {
    for (;;) {
      uint32_t s = state_.fetch_add(1, std::memory_order_acquire);
      if (!(s & kWriter)) return;
      unlock_shared();  // a writer holds it or waits for it: back off until it is done
      while ((s = state_.load(std::memory_order_acquire)) & kWriter) state_.wait(s);
    }
  }
  void unlock_shared() VMS_THREAD_ATTR(release_shared_capability()) {
    const uint32_t s = state_.fetch_sub(1, std::memory_order_release);
    if (s == (kWriter | 1)) state_.notify_all();  // the last reader a writer waits for
  }
  void lock() VMS_ACQUIRE() {
    writers_.lock();
    uint32_t s = state_.fetch_or(kWriter, std::memory_order_acquire) | kWriter;
    while (s != kWriter) {
      state_.wait(s);
      s = state_.load(std::memory_order_acquire);
    }
  }
  void unlock() VMS_RELEASE() {
    state_.fetch_and(~kWriter, std::memory_order_release);
    state_.notify_all();
    writers_.unlock();
  }

 private:
  static constexpr uint32_t kWriter = 1u << 31;
  std::atomic<uint32_t> state_{0};  // the writer bit and the number of readers inside
  std::mutex writers_;
};

}  // namespace vmspace
