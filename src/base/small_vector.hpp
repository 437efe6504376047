// A vector of trivially copyable values that holds its first N elements inline: the VMA
// lists of one call (usually one or two VMAs) cost no heap allocation.
//
// reserve() is where memory is taken (it may throw std::bad_alloc); push_back beyond the
// reserved capacity grows like std::vector.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

namespace vmspace {

template <class T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  SmallVector() = default;
  SmallVector(const SmallVector &o) { *this = o; }
  SmallVector &operator=(const SmallVector &o) {
    if (this != &o) {
      size_ = 0;
      reserve(o.size_);
      if (o.size_) std::memcpy(data(), o.data(), o.size_ * sizeof(T));
      size_ = o.size_;
    }
    return *this;
  }

  void reserve(size_t n) {
    if (n <= cap_) return;
    std::unique_ptr<T[]> bigger(new T[n]);
    if (size_) std::memcpy(bigger.get(), data(), size_ * sizeof(T));
    heap_ = std::move(bigger);
    cap_ = n;
  }
  void push_back(const T &v) {
    if (size_ == cap_) reserve(cap_ * 2);
    data()[size_++] = v;
  }
  void clear() { size_ = 0; }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T *data() { return heap_ ? heap_.get() : inline_; }
  const T *data() const { return heap_ ? heap_.get() : inline_; }
  T *begin() { return data(); }
  T *end() { return data() + size_; }
  const T *begin() const { return data(); }
  const T *end() const { return data() + size_; }
  T &operator[](size_t i) { return data()[i]; }
  const T &operator[](size_t i) const { return data()[i]; }

 private:
  T inline_[N];
  std::unique_ptr<T[]> heap_;
  size_t size_ = 0;
  size_t cap_ = N;
};

}  // namespace vmspace
