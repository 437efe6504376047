// The file descriptor table of a process (Linux: struct files_struct).
//
// Descriptors are the lowest free numbers, limited by RLIMIT_NOFILE. Arguments are taken as
// the kernel takes them (unsigned int), so -1 is simply a descriptor that is not open.
#pragma once

#include <cstdint>
#include <vector>

#include "base/ref.hpp"
#include "file/inode.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

class FdTable {
 public:
  // The open file behind fd, or null (Linux: fget_raw; callers refuse O_PATH where needed).
  OpenFile *get(uint64_t fd) const {
    if (fd >= files_.size()) return nullptr;
    return files_[fd].get();
  }
  // Installs f at the lowest free descriptor >= min_fd below `limit` (EMFILE otherwise).
  Result<int> install(Ref<OpenFile> f, bool cloexec, uint64_t limit, uint64_t min_fd = 0);
  // Checks that a descriptor is free below the limit without taking it (EMFILE otherwise).
  Result<void> reserve_check(uint64_t limit) const;
  Result<void> close(uint64_t fd);
  // Puts f at descriptor fd (closing what was there), as dup2 would (EBADF at or past limit).
  Result<int> install_at(uint64_t fd, Ref<OpenFile> f, bool cloexec, uint64_t limit) {
    if (fd >= limit) return fail(Errno::badf);
    place(fd, std::move(f), cloexec);
    return static_cast<int>(fd);
  }
  Result<int> dup(uint64_t fd, uint64_t limit);
  Result<int> dup2(uint64_t oldfd, uint64_t newfd, uint64_t limit);
  Result<int> dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags, uint64_t limit);
  bool cloexec(uint64_t fd) const { return fd < cloexec_.size() && cloexec_[fd]; }
  void set_cloexec(uint64_t fd, bool on) {
    if (fd < cloexec_.size()) cloexec_[fd] = on;
  }
  // Number of the highest open descriptor + 1.
  size_t span() const { return files_.size(); }

 private:
  void place(uint64_t fd, Ref<OpenFile> f, bool cloexec);
  std::vector<Ref<OpenFile>> files_;
  std::vector<bool> cloexec_;
};

}  // namespace vmspace
