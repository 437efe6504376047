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

}  // namespace vmspace
