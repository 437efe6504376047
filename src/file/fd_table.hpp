// The file descriptor table of a process (Linux: struct files_struct).
//
// Descriptors are the lowest free numbers, limited by RLIMIT_NOFILE and never past
// fs.nr_open (kNrOpen), as in Linux. Arguments are taken as the kernel takes them (unsigned
// int), so -1 is simply a descriptor that is not open.
//
// Thread safety: every member function locks the table (a table may be shared: threads,
// CLONE_FILES); get() hands out a reference, so a descriptor closed meanwhile cannot free a
// file under its user.
//
// The table is sparse: open files sit in an ordered map, so a descriptor number costs no
// memory of its own (dup2(0, 1000000) makes one entry). Finding the lowest free number uses
// two bitmaps as Linux's fdtable does (open_fds and full_fds_bits): one bit per descriptor up
// to the highest open one, and one bit per 64 of them that are all open, so a search costs
// at most (highest open descriptor) / 4096 steps.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/meter.hpp"
#include "base/mutex.hpp"
#include "base/ref.hpp"
#include "file/inode.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

class FdTable {
 public:
  FdTable() = default;
  // A copy for fork (Linux: dup_fd): charged to the same meter.
  FdTable(const FdTable &o);
  FdTable &operator=(const FdTable &) = delete;
  ~FdTable();
  // Entries are charged to `m` from now on.
  void set_meter(MemoryMeter *m);

  // The largest number of descriptors Linux allows a process (fs.nr_open).
  static constexpr uint64_t kNrOpen = lx::nr_open;

  // The open file behind fd, or null (Linux: fget_raw; callers refuse O_PATH where needed).
  // A reference: the descriptor may be closed by another thread meanwhile.
  Ref<OpenFile> get(uint64_t fd) const {
    MutexLock g(mu_);
    auto it = files_.find(fd);
    return it == files_.end() ? Ref<OpenFile>() : it->second.file;
  }
  // Installs f at the lowest free descriptor >= min_fd below `limit` (EMFILE otherwise).
  Result<int> install(Ref<OpenFile> f, bool cloexec, uint64_t limit, uint64_t min_fd = 0);
  // Checks that a descriptor is free below the limit without taking it (EMFILE otherwise).
  Result<void> reserve_check(uint64_t limit) const;
  Result<void> close(uint64_t fd);
  // Puts f at descriptor fd (closing what was there), as dup2 would (EBADF at or past limit).
  Result<int> install_at(uint64_t fd, Ref<OpenFile> f, bool cloexec, uint64_t limit) {
    if (fd >= cap(limit)) return fail(Errno::badf);
    Ref<OpenFile> gone;  // released after the lock
    MutexLock g(mu_);
    gone = place(fd, std::move(f), cloexec);
    return static_cast<int>(fd);
  }
  Result<int> dup(uint64_t fd, uint64_t limit);
  Result<int> dup2(uint64_t oldfd, uint64_t newfd, uint64_t limit);
  Result<int> dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags, uint64_t limit);
  bool cloexec(uint64_t fd) const {
    MutexLock g(mu_);
    auto it = files_.find(fd);
    return it != files_.end() && it->second.cloexec;
  }
  void set_cloexec(uint64_t fd, bool on) {
    MutexLock g(mu_);
    auto it = files_.find(fd);
    if (it != files_.end()) it->second.cloexec = on;
  }
  // The open descriptors in [first, last], in order.
  std::vector<uint64_t> open_in(uint64_t first, uint64_t last) const;
  // Closes every close-on-exec descriptor (execve).
  void close_on_exec();
  // Number of the highest open descriptor + 1.
  size_t span() const {
    MutexLock g(mu_);
    return files_.empty() ? 0 : files_.rbegin()->first + 1;
  }
  size_t count() const {
    MutexLock g(mu_);
    return files_.size();
  }
  // What the table costs the host: its entries (the map node and a share of the open file,
  // an estimate) and bitmaps.
  static constexpr int64_t kSlotBytes = 192;
  int64_t footprint() const {
    MutexLock g(mu_);
    return footprint_locked();
  }

 private:
  struct Slot {
    Ref<OpenFile> file;
    bool cloexec = false;
  };
  static uint64_t cap(uint64_t limit) { return limit < kNrOpen ? limit : kNrOpen; }
  int64_t footprint_locked() const VMS_REQUIRES(mu_) {
    return static_cast<int64_t>(files_.size()) * kSlotBytes +
           static_cast<int64_t>((open_bits_.capacity() + full_bits_.capacity()) * 8);
  }
  // The ...locked functions need mu_ held. place returns what was at fd, to be released
  // after the lock.
  Ref<OpenFile> place(uint64_t fd, Ref<OpenFile> f, bool cloexec) VMS_REQUIRES(mu_);
  Result<int> install_locked(Ref<OpenFile> f, bool cloexec, uint64_t limit, uint64_t min_fd)
      VMS_REQUIRES(mu_);
  void mark(uint64_t fd, bool open) VMS_REQUIRES(mu_);
  // The lowest free descriptor >= from, or kNrOpen when none is.
  uint64_t lowest_free(uint64_t from) const VMS_REQUIRES(mu_);
  // Guards everything below: a table may be shared by threads and CLONE_FILES children.
  mutable Mutex mu_;
  std::map<uint64_t, Slot> files_ VMS_GUARDED_BY(mu_);
  MemoryMeter *meter_ VMS_GUARDED_BY(mu_) = nullptr;
  int64_t charged_ VMS_GUARDED_BY(mu_) = 0;
  void recharge() VMS_REQUIRES(mu_) {
    if (!meter_) return;
    const int64_t now = footprint_locked();
    meter_->charge(now - charged_);
    charged_ = now;
  }
  std::vector<uint64_t> open_bits_ VMS_GUARDED_BY(mu_);  // bit fd: fd is open
  std::vector<uint64_t> full_bits_ VMS_GUARDED_BY(mu_);  // bit w: open_bits_[w] is all ones
};

}  // namespace vmspace
