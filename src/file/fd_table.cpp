// File descriptor table (Linux: fs/file.c). See fd_table.hpp.
#include "file/fd_table.hpp"

#include "vmspace/abi.hpp"

namespace vmspace {

FdTable::FdTable(const FdTable &o) {
  MutexLock g(o.mu_);
  files_ = o.files_;
  meter_ = o.meter_;
  open_bits_ = o.open_bits_;
  full_bits_ = o.full_bits_;
  recharge();
}

FdTable::~FdTable() {
  if (meter_) meter_->charge(-charged_);
}

void FdTable::set_meter(MemoryMeter *m) {
  MutexLock g(mu_);
  if (meter_) meter_->charge(-charged_);
  charged_ = 0;
  meter_ = m;
  recharge();
}

void FdTable::mark(uint64_t fd, bool open) {
  const uint64_t w = fd / 64, bit = 1ull << (fd % 64);
  if (open) {
    if (w >= open_bits_.size()) {
      open_bits_.resize(w + 1, 0);
      full_bits_.resize(w / 64 + 1, 0);
    }
    open_bits_[w] |= bit;
    if (open_bits_[w] == ~0ull) full_bits_[w / 64] |= 1ull << (w % 64);
    recharge();
    return;
  }
  if (w >= open_bits_.size()) return;
  open_bits_[w] &= ~bit;
  full_bits_[w / 64] &= ~(1ull << (w % 64));
  // The bitmaps shrink with the highest open descriptor.
  while (!open_bits_.empty() && open_bits_.back() == 0) open_bits_.pop_back();
  full_bits_.resize((open_bits_.size() + 63) / 64);
  if (open_bits_.capacity() > 2 * open_bits_.size() + 64) {
    open_bits_.shrink_to_fit();
    full_bits_.shrink_to_fit();
  }
  recharge();
}

uint64_t FdTable::lowest_free(uint64_t from) const {
  uint64_t w = from / 64;
  if (w >= open_bits_.size()) return from;
  // The first word at or after `from` with a free bit.
  const uint64_t first = ~open_bits_[w] & (~0ull << (from % 64));
  if (first) return w * 64 + static_cast<uint64_t>(__builtin_ctzll(first));
  for (w++; w < open_bits_.size();) {
    const uint64_t fw = w / 64;
    const uint64_t not_full = ~full_bits_[fw] & (~0ull << (w % 64));
    if (!not_full) {
      w = (fw + 1) * 64;
      continue;
    }
    w = fw * 64 + static_cast<uint64_t>(__builtin_ctzll(not_full));
    if (w >= open_bits_.size()) break;
    return w * 64 + static_cast<uint64_t>(__builtin_ctzll(~open_bits_[w]));
  }
  return open_bits_.size() * 64;
}

Ref<OpenFile> FdTable::place(uint64_t fd, Ref<OpenFile> f, bool cloexec) {
  Slot &s = files_[fd];
  Ref<OpenFile> old = std::move(s.file);
  s.file = std::move(f);
  s.cloexec = cloexec;
  mark(fd, true);
  return old;
}

Result<void> FdTable::reserve_check(uint64_t limit) const {
  MutexLock g(mu_);
  if (lowest_free(0) < cap(limit)) return {};
  return fail(Errno::mfile);
}

Result<int> FdTable::install_locked(Ref<OpenFile> f, bool cloexec, uint64_t limit,
                                    uint64_t min_fd) {
  const uint64_t fd = lowest_free(min_fd);
  if (fd >= cap(limit)) return fail(Errno::mfile);
  (void)place(fd, std::move(f), cloexec);
  return static_cast<int>(fd);
}

Result<int> FdTable::install(Ref<OpenFile> f, bool cloexec, uint64_t limit, uint64_t min_fd) {
  MutexLock g(mu_);
  return install_locked(std::move(f), cloexec, limit, min_fd);
}

Result<void> FdTable::close(uint64_t fd) {
  fd &= 0xffffffffu;
  Ref<OpenFile> gone;  // released after the lock, the table consistent
  MutexLock g(mu_);
  auto it = files_.find(fd);
  if (it == files_.end()) return fail(Errno::badf);
  gone = std::move(it->second.file);
  files_.erase(it);
  mark(fd, false);
  return {};
}

std::vector<uint64_t> FdTable::open_in(uint64_t first, uint64_t last) const {
  MutexLock g(mu_);
  std::vector<uint64_t> out;
  for (auto it = files_.lower_bound(first); it != files_.end() && it->first <= last; ++it)
    out.push_back(it->first);
  return out;
}

void FdTable::close_on_exec() {
  std::vector<Ref<OpenFile>> gone;  // released after the lock
  MutexLock g(mu_);
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->second.cloexec) {
      const uint64_t fd = it->first;
      gone.push_back(std::move(it->second.file));
      it = files_.erase(it);
      mark(fd, false);
    } else {
      ++it;
    }
  }
}

Result<int> FdTable::dup(uint64_t fd, uint64_t limit) {
  fd &= 0xffffffffu;
  MutexLock g(mu_);
  auto it = files_.find(fd);
  if (it == files_.end()) return fail(Errno::badf);
  return install_locked(it->second.file, false, limit, 0);
}

// Linux: ksys_dup3.
Result<int> FdTable::dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags, uint64_t limit) {
  oldfd &= 0xffffffffu;
  newfd &= 0xffffffffu;
  if (flags & ~lx::o_cloexec) return fail(Errno::inval);
  if (oldfd == newfd) return fail(Errno::inval);
  if (newfd >= cap(limit)) return fail(Errno::badf);
  Ref<OpenFile> gone;  // released after the lock
  MutexLock g(mu_);
  auto it = files_.find(oldfd);
  if (it == files_.end()) return fail(Errno::badf);
  Ref<OpenFile> f = it->second.file;
  gone = place(newfd, std::move(f), (flags & lx::o_cloexec) != 0);
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
