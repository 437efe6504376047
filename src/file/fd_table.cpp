// File descriptor table (Linux: fs/file.c). See fd_table.hpp.
#include "file/fd_table.hpp"

#include "vmspace/abi.hpp"

namespace vmspace {

void FdTable::place(uint64_t fd, Ref<OpenFile> f, bool cloexec) {
  if (fd >= files_.size()) {
    files_.resize(fd + 1);
    cloexec_.resize(fd + 1);
  }
  files_[fd] = std::move(f);
  cloexec_[fd] = cloexec;
}

Result<void> FdTable::reserve_check(uint64_t limit) const {
  for (uint64_t fd = 0; fd < limit; fd++)
    if (fd >= files_.size() || !files_[fd]) return {};
  return fail(Errno::mfile);
}

Result<int> FdTable::install(Ref<OpenFile> f, bool cloexec, uint64_t limit, uint64_t min_fd) {
  for (uint64_t fd = min_fd; fd < limit; fd++) {
    if (fd >= files_.size() || !files_[fd]) {
      place(fd, std::move(f), cloexec);
      return static_cast<int>(fd);
    }
  }
  return fail(Errno::mfile);
}

Result<void> FdTable::close(uint64_t fd) {
  fd &= 0xffffffffu;
  if (!get(fd)) return fail(Errno::badf);
  files_[fd] = nullptr;
  cloexec_[fd] = false;
  while (!files_.empty() && !files_.back()) {
    files_.pop_back();
    cloexec_.pop_back();
  }
  return {};
}

Result<int> FdTable::dup(uint64_t fd, uint64_t limit) {
  fd &= 0xffffffffu;
  OpenFile *f = get(fd);
  if (!f) return fail(Errno::badf);
  return install(Ref<OpenFile>(f), false, limit);
}

// Linux: ksys_dup3.
Result<int> FdTable::dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags, uint64_t limit) {
  oldfd &= 0xffffffffu;
  newfd &= 0xffffffffu;
  if (flags & ~lx::o_cloexec) return fail(Errno::inval);
  if (oldfd == newfd) return fail(Errno::inval);
  if (newfd >= limit) return fail(Errno::badf);
  OpenFile *f = get(oldfd);
  if (!f) return fail(Errno::badf);
  place(newfd, Ref<OpenFile>(f), (flags & lx::o_cloexec) != 0);
  return static_cast<int>(newfd);
}

Result<int> FdTable::dup2(uint64_t oldfd, uint64_t newfd, uint64_t limit) {
  oldfd &= 0xffffffffu;
  newfd &= 0xffffffffu;
  if (oldfd == newfd) {
    if (!get(oldfd)) return fail(Errno::badf);
    return static_cast<int>(oldfd);
  }
  return dup3(oldfd, newfd, 0, limit);
}

}  // namespace vmspace
