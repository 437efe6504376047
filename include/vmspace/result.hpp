// vmspace — errors as values.
//
// Synopsis
//   enum class Errno          Linux errno numbers (x86-64), e.g. Errno::inval == 22
//   errno_name(Errno)         "EINVAL"
//   errno_from_name("EINVAL") Errno::inval (or Errno::none when unknown)
//   errno_text(Errno)         "Invalid argument" (strerror text, as strace prints it)
//   Result<T>                 a T or an Errno; [[nodiscard]]
//   VMS_TRY(expr)             return the error of a failed Result from the current function
//
// Example
//   Result<uint64_t> r = proc.mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
//   if (!r) std::printf("failed: %s\n", errno_name(r.error()));
//   else    std::printf("mapped at %#lx\n", *r);
//
// No exception crosses the public API: every system call of a Process returns a Result.
#pragma once

#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

namespace vmspace {

// Linux errno values (x86-64). Names follow the E-constants without the leading E.
enum class Errno : int {
  none = 0,
  perm = 1,
  noent = 2,
  srch = 3,
  intr = 4,
  io = 5,
  nxio = 6,
  toobig = 7,
  noexec = 8,
  badf = 9,
  child = 10,
  again = 11,
  nomem = 12,
  acces = 13,
  fault = 14,
  notblk = 15,
  busy = 16,
  exist = 17,
  xdev = 18,
  nodev = 19,
  notdir = 20,
  isdir = 21,
  inval = 22,
  nfile = 23,
  mfile = 24,
  notty = 25,
  txtbsy = 26,
  fbig = 27,
  nospc = 28,
  spipe = 29,
  rofs = 30,
  mlink = 31,
  pipe = 32,
  dom = 33,
  range = 34,
  deadlk = 35,
  nametoolong = 36,
  nolck = 37,
  nosys = 38,
  notempty = 39,
  loop = 40,
  nodata = 61,
  overflow = 75,
  badfd = 77,
  libbad = 80,
  notsup = 95,  // EOPNOTSUPP
  dquot = 122,
  canceled = 125,
  hwpoison = 133,
  notsupp = 524,  // kernel-internal ENOTSUPP
};

// "EINVAL" for Errno::inval; "E<number>" for values without a name.
const char *errno_name(Errno e);
// Errno::inval for "EINVAL"; Errno::none when the name is unknown.
Errno errno_from_name(std::string_view name);
// The strerror() text of glibc, e.g. "Invalid argument".
const char *errno_text(Errno e);

// Tag to construct a failed Result.
struct Failure {
  Errno error;
};
inline Failure fail(Errno e) { return Failure{e}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(const T &v) : ok_(true) { new (&value_) T(v); }
  Result(T &&v) : ok_(true) { new (&value_) T(std::move(v)); }
  Result(Failure f) : ok_(false), error_(f.error) {}
  Result(const Result &o) : ok_(o.ok_), error_(o.error_) {
    if (ok_) new (&value_) T(o.value_);
  }
  Result(Result &&o) noexcept : ok_(o.ok_), error_(o.error_) {
    if (ok_) new (&value_) T(std::move(o.value_));
  }
  Result &operator=(Result o) {
    this->~Result();
    new (this) Result(std::move(o));
    return *this;
  }
  ~Result() {
    if (ok_) value_.~T();
  }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  Errno error() const { return ok_ ? Errno::none : error_; }
  T &value() { return value_; }
  const T &value() const { return value_; }
  T &operator*() { return value_; }
  const T &operator*() const { return value_; }
  T *operator->() { return &value_; }
  const T *operator->() const { return &value_; }
  T value_or(T other) const { return ok_ ? value_ : other; }

 private:
  bool ok_;
  Errno error_ = Errno::none;
  union {
    T value_;
  };
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Failure f) : error_(f.error) {}
  bool ok() const { return error_ == Errno::none; }
  explicit operator bool() const { return ok(); }
  Errno error() const { return error_; }

 private:
  Errno error_ = Errno::none;
};

}  // namespace vmspace

// Propagate a failure: `VMS_TRY(step());` returns step()'s error from the enclosing function.
#define VMS_TRY(expr)                                                      \
  do {                                                                     \
    auto vms_try_result_ = (expr);                                         \
    if (!vms_try_result_) return ::vmspace::fail(vms_try_result_.error()); \
  } while (0)
