// Intrusive reference counting for shared kernel-like objects (files, anon_vma, names).
//
// Objects derive from RefCounted and are held through Ref<T>. The count is atomic because
// several address spaces (fork, threads) may hold the same object.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace vmspace {

class RefCounted {
 public:
  RefCounted() = default;
  RefCounted(const RefCounted &) = delete;
  RefCounted &operator=(const RefCounted &) = delete;
  virtual ~RefCounted() = default;

  void ref_get() const { refs_.fetch_add(1, std::memory_order_relaxed); }
  void ref_put() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Takes a reference unless the count already reached zero (the object is being destroyed):
  // for caches that hold plain pointers to objects that remove themselves when they die.
  bool ref_get_unless_zero() const {
    uint32_t n = refs_.load(std::memory_order_relaxed);
    while (n != 0)
      if (refs_.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
    return false;
  }
  uint32_t ref_count() const { return refs_.load(std::memory_order_relaxed); }

 private:
  mutable std::atomic<uint32_t> refs_{0};
};

template <class T>
class Ref {
 public:
  Ref() = default;
  Ref(std::nullptr_t) {}
  explicit Ref(T *p) : p_(p) {
    if (p_) p_->ref_get();
  }
  Ref(const Ref &o) : p_(o.p_) {
    if (p_) p_->ref_get();
  }
  Ref(Ref &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  // Wraps a pointer whose reference the caller already took (ref_get_unless_zero).
  static Ref adopt(T *p) {
    Ref r;
    r.p_ = p;
    return r;
  }
  template <class U>
  Ref(const Ref<U> &o) : p_(o.get()) {
    if (p_) p_->ref_get();
  }
  ~Ref() {
    if (p_) p_->ref_put();
  }
  Ref &operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  T *get() const { return p_; }
  T *operator->() const { return p_; }
  T &operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  friend bool operator==(const Ref &a, const Ref &b) { return a.p_ == b.p_; }
  friend bool operator==(const Ref &a, std::nullptr_t) { return a.p_ == nullptr; }

 private:
  T *p_ = nullptr;
};

// Creates a new object held by a Ref.
template <class T, class... Args>
Ref<T> make_ref(Args &&...args) {
  return Ref<T>(new T(std::forward<Args>(args)...));
}

}  // namespace vmspace
