// Errno names and texts, as strace and glibc print them.
#include <cstdio>

#include "vmspace/result.hpp"

namespace vmspace {
namespace {
struct ErrnoInfo {
  Errno e;
  const char *name;
  const char *text;
};
constexpr ErrnoInfo kErrnos[] = {
    {Errno::perm, "EPERM", "Operation not permitted"},
    {Errno::noent, "ENOENT", "No such file or directory"},
    {Errno::srch, "ESRCH", "No such process"},
    {Errno::intr, "EINTR", "Interrupted system call"},
    {Errno::io, "EIO", "Input/output error"},
    {Errno::nxio, "ENXIO", "No such device or address"},
    {Errno::toobig, "E2BIG", "Argument list too long"},
    {Errno::noexec, "ENOEXEC", "Exec format error"},
    {Errno::badf, "EBADF", "Bad file descriptor"},
    {Errno::child, "ECHILD", "No child processes"},
    {Errno::again, "EAGAIN", "Resource temporarily unavailable"},
    {Errno::nomem, "ENOMEM", "Cannot allocate memory"},
    {Errno::acces, "EACCES", "Permission denied"},
    {Errno::fault, "EFAULT", "Bad address"},
    {Errno::notblk, "ENOTBLK", "Block device required"},
    {Errno::busy, "EBUSY", "Device or resource busy"},
    {Errno::exist, "EEXIST", "File exists"},
    {Errno::xdev, "EXDEV", "Invalid cross-device link"},
    {Errno::nodev, "ENODEV", "No such device"},
    {Errno::notdir, "ENOTDIR", "Not a directory"},
    {Errno::isdir, "EISDIR", "Is a directory"},
    {Errno::inval, "EINVAL", "Invalid argument"},
    {Errno::nfile, "ENFILE", "Too many open files in system"},
    {Errno::mfile, "EMFILE", "Too many open files"},
    {Errno::notty, "ENOTTY", "Inappropriate ioctl for device"},
    {Errno::txtbsy, "ETXTBSY", "Text file busy"},
    {Errno::fbig, "EFBIG", "File too large"},
    {Errno::nospc, "ENOSPC", "No space left on device"},
    {Errno::spipe, "ESPIPE", "Illegal seek"},
    {Errno::rofs, "EROFS", "Read-only file system"},
    {Errno::mlink, "EMLINK", "Too many links"},
    {Errno::pipe, "EPIPE", "Broken pipe"},
    {Errno::dom, "EDOM", "Numerical argument out of domain"},
    {Errno::range, "ERANGE", "Numerical result out of range"},
    {Errno::deadlk, "EDEADLK", "Resource deadlock avoided"},
    {Errno::nametoolong, "ENAMETOOLONG", "File name too long"},
    {Errno::nolck, "ENOLCK", "No locks available"},
    {Errno::nosys, "ENOSYS", "Function not implemented"},
    {Errno::notempty, "ENOTEMPTY", "Directory not empty"},
    {Errno::loop, "ELOOP", "Too many levels of symbolic links"},
    {Errno::nodata, "ENODATA", "No data available"},
    {Errno::overflow, "EOVERFLOW", "Value too large for defined data type"},
    {Errno::badfd, "EBADFD", "File descriptor in bad state"},
    {Errno::libbad, "ELIBBAD", "Accessing a corrupted shared library"},
    {Errno::notsup, "EOPNOTSUPP", "Operation not supported"},
    {Errno::dquot, "EDQUOT", "Disk quota exceeded"},
    {Errno::canceled, "ECANCELED", "Operation canceled"},
    {Errno::hwpoison, "EHWPOISON", "Memory page has hardware error"},
    {Errno::notsupp, "ENOTSUPP", "Unknown error 524"},
};
}  // namespace

const char *errno_name(Errno e) {
  for (const auto &i : kErrnos)
    if (i.e == e) return i.name;
  static thread_local char buf[16];
  std::snprintf(buf, sizeof buf, "E%d", static_cast<int>(e));
  return buf;
}

Errno errno_from_name(std::string_view name) {
  for (const auto &i : kErrnos)
    if (name == i.name) return i.e;
  if (name == "ENOTSUP") return Errno::notsup;
  if (name == "EWOULDBLOCK") return Errno::again;
  if (name == "EDEADLOCK") return Errno::deadlk;
  // strace prints errno values without a name as E<number> (e.g. E606).
  if (name.size() > 1 && name.size() < 6 && name[0] == 'E') {
    int v = 0;
    for (size_t i = 1; i < name.size(); i++) {
      if (name[i] < '0' || name[i] > '9') return Errno::none;
      v = v * 10 + (name[i] - '0');
    }
    if (v > 0 && v < 4096) return static_cast<Errno>(v);
  }
  return Errno::none;
}

const char *errno_text(Errno e) {
  for (const auto &i : kErrnos)
    if (i.e == e) return i.text;
  static thread_local char buf[32];
  std::snprintf(buf, sizeof buf, "Unknown error %d", static_cast<int>(e));
  return buf;
}

}  // namespace vmspace
