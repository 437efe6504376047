// File system calls the memory calls depend on: open, openat, close, dup, dup2, dup3,
// ftruncate, memfd_create (Linux: fs/open.c, fs/file.c, mm/memfd.c).
#include <string>

#include "file/fd_table.hpp"
#include "file/inode.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

namespace {
constexpr uint64_t kMfdAllFlags =
    lx::mfd_cloexec | lx::mfd_allow_sealing | lx::mfd_hugetlb | lx::mfd_noexec_seal | lx::mfd_exec;
constexpr size_t kMfdNameMax = 249;  // NAME_MAX - strlen("memfd:")
}  // namespace

Result<int> Task::open(std::string_view path, uint64_t flags, uint64_t mode) {
  return openat(static_cast<uint64_t>(lx::at_fdcwd), path, flags, mode);
}

Result<int> Task::openat(uint64_t dirfd, std::string_view path, uint64_t flags, uint64_t mode) {
  SystemState &s = state_;
  if (path.empty()) return fail(Errno::noent);
  VMS_TRY(memory_available(s));
  const uint64_t nofile = rlimit_cur(lx::rlimit_nofile);
  VMS_TRY(files_->reserve_check(nofile));
  int base = -1;
  const int dfd = static_cast<int>(static_cast<uint32_t>(dirfd));
  if (path[0] != '/' && dfd != lx::at_fdcwd) {
    Ref<OpenFile> d = files_->get(static_cast<uint32_t>(dirfd));
    if (!d) return fail(Errno::badf);
    if (d->host_fd() < 0 || d->inode()->kind() != InodeKind::directory) return fail(Errno::notdir);
    base = d->host_fd();
  }
  std::string from_cwd;
  if (path[0] != '/' && dfd == lx::at_fdcwd && !cwd_.empty()) {
    from_cwd = cwd_ + "/" + std::string(path);
    path = from_cwd;
  }
  Result<OpenedFile> o =
      s.fs->open(base, path, flags, static_cast<uint32_t>(mode & 07777), privileged_);
  if (!o) return fail(o.error());
  Result<Ref<OpenFile>> f = make_open_file(s, std::move(*o), flags);
  if (!f) return fail(f.error());
  return files_->install(*f, (flags & lx::o_cloexec) != 0, nofile);
}

namespace {
// Where a *at call's path starts: the host descriptor of dirfd's directory, or -1 for the
// sandbox; a relative path with AT_FDCWD is joined to cwd (into *joined, which *path then
// views).
Result<int> path_base(FdTable &files, const std::string &cwd, uint64_t dirfd,
                      std::string_view *path, std::string *joined) {
  if (path->empty()) return fail(Errno::noent);
  const int dfd = static_cast<int>(static_cast<uint32_t>(dirfd));
  if ((*path)[0] == '/') return -1;
  if (dfd != lx::at_fdcwd) {
    Ref<OpenFile> d = files.get(static_cast<uint32_t>(dirfd));
    if (!d) return fail(Errno::badf);
    if (d->host_fd() < 0 || d->inode()->kind() != InodeKind::directory) return fail(Errno::notdir);
    return d->host_fd();
  }
  if (!cwd.empty()) {
    *joined = cwd + "/" + std::string(*path);
    *path = *joined;
  }
  return -1;
}
}  // namespace

Result<void> Task::unlinkat(uint64_t dirfd, std::string_view path, uint64_t flags) {
  SystemState &s = state_;
  constexpr uint64_t kRemoveDir = lx::at_removedir;
  if (flags & ~kRemoveDir) return fail(Errno::inval);
  std::string joined;
  Result<int> base = path_base(*files_, cwd_, dirfd, &path, &joined);
  if (!base) return fail(base.error());
  return s.fs->unlink(*base, path, (flags & kRemoveDir) != 0, privileged_);
}

Result<void> Task::link_or_rename(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                                  std::string_view newpath, bool rename, unsigned flags) {
  SystemState &s = state_;
  std::string j1, j2;
  Result<int> b1 = path_base(*files_, cwd_, olddirfd, &oldpath, &j1);
  if (!b1) return fail(b1.error());
  Result<int> b2 = path_base(*files_, cwd_, newdirfd, &newpath, &j2);
  if (!b2) return fail(b2.error());
  return s.fs->link_or_rename(*b1, oldpath, *b2, newpath, rename, flags, privileged_);
}

Result<void> Task::linkat(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                          std::string_view newpath, uint64_t flags) {
  constexpr uint64_t kSymlinkFollow = lx::at_symlink_follow, kEmptyPath = lx::at_empty_path;
  if (flags & ~(kSymlinkFollow | kEmptyPath)) return fail(Errno::inval);
  return link_or_rename(olddirfd, oldpath, newdirfd, newpath, false, 0);
}

Result<void> Task::renameat2(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                             std::string_view newpath, uint64_t flags) {
  constexpr uint64_t kNoreplace = lx::rename_noreplace, kExchange = lx::rename_exchange;
  if ((flags & ~(kNoreplace | kExchange)) || flags == (kNoreplace | kExchange))
    return fail(Errno::inval);
  return link_or_rename(olddirfd, oldpath, newdirfd, newpath, true, static_cast<unsigned>(flags));
}

Result<void> Task::close(uint64_t fd) { return files_->close(fd); }

// Linux: fs/file.c close_range (CLOSE_RANGE_UNSHARE 2, CLOSE_RANGE_CLOEXEC 4).
Result<void> Task::close_range(uint64_t first_in, uint64_t last_in, uint64_t flags) {
  constexpr uint64_t kUnshare = 2, kCloexec = 4;
  const uint64_t first = first_in & 0xffffffffu, last = last_in & 0xffffffffu;
  if ((flags & ~(kUnshare | kCloexec)) || first > last) return fail(Errno::inval);
  for (uint64_t fd : files_->open_in(first, last)) {
    if (flags & kCloexec)
      files_->set_cloexec(fd, true);
    else
      (void)files_->close(fd);
  }
  return {};
}

Result<void> Task::install_placeholder(uint64_t fd, bool cloexec) {
  SystemState &s = state_;
  VMS_TRY(memory_available(s));
  Result<int> r =
      files_->install_at(fd & 0xffffffffu, s.placeholder, cloexec, rlimit_cur(lx::rlimit_nofile));
  if (!r) return fail(r.error());
  return {};
}

int Task::host_fd(uint64_t fd) const {
  Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
  return f ? f->host_fd() : -1;
}

Result<int> Task::dup(uint64_t fd) {
  VMS_TRY(memory_available(state_));
  return files_->dup(fd, rlimit_cur(lx::rlimit_nofile));
}

Result<int> Task::dup2(uint64_t oldfd, uint64_t newfd) {
  VMS_TRY(memory_available(state_));
  return files_->dup2(oldfd, newfd, rlimit_cur(lx::rlimit_nofile));
}

Result<int> Task::dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags) {
  VMS_TRY(memory_available(state_));
  return files_->dup3(oldfd, newfd, flags, rlimit_cur(lx::rlimit_nofile));
}

// Linux: do_fcntl, for the commands that matter to the address space's descriptors:
// F_DUPFD, F_DUPFD_CLOEXEC (lowest free descriptor >= arg), F_GETFD, F_SETFD (close-on-exec),
// F_GETFL. Others are not modelled (Errno::nosys).
Result<int> Task::fcntl(uint64_t fd, uint64_t cmd, uint64_t arg) {
  constexpr uint32_t kDupfd = lx::f_dupfd, kGetfd = lx::f_getfd, kSetfd = lx::f_setfd,
                     kGetfl = lx::f_getfl, kDupfdCloexec = lx::f_dupfd_cloexec;
  Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
  if (!f) return fail(Errno::badf);
  const uint64_t nofile = rlimit_cur(lx::rlimit_nofile);
  switch (static_cast<uint32_t>(cmd)) {
    case kDupfd:
    case kDupfdCloexec:
      if ((arg & 0xffffffffu) >= nofile) return fail(Errno::inval);
      VMS_TRY(memory_available(state_));
      return files_->install(f, static_cast<uint32_t>(cmd) == kDupfdCloexec, nofile,
                             arg & 0xffffffffu);
    case kGetfd:
      return files_->cloexec(fd & 0xffffffffu) ? 1 : 0;
    case kSetfd:
      files_->set_cloexec(fd & 0xffffffffu, arg & 1);
      return 0;
    case kGetfl:
      // Linux keeps f_flags without the open-time-only bits, and 64-bit opens always carry
      // O_LARGEFILE (force_o_largefile).
      return static_cast<int>((f->open_flags() & ~(lx::o_cloexec | lx::o_creat | lx::o_excl |
                                                   lx::o_noctty | lx::o_trunc)) |
                              lx::o_largefile);
    default:
      return fail(Errno::nosys);
  }
}

// Linux: do_sys_ftruncate.
Result<void> Task::ftruncate(uint64_t fd, uint64_t length) {
  if (static_cast<int64_t>(length) < 0) return fail(Errno::inval);
  Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
  if (!f || f->is_path()) return fail(Errno::badf);
  const Inode &in = *f->inode();
  bool regular = in.kind() == InodeKind::regular || in.kind() == InodeKind::shmem ||
                 in.kind() == InodeKind::hugetlb;
  if (!regular || !f->writable()) return fail(Errno::inval);
  if (in.append_only()) return fail(Errno::perm);
  if (in.kind() == InodeKind::hugetlb && (length & (in.huge_page_size() - 1)))
    return fail(Errno::inval);
  if (length > static_cast<uint64_t>(rlimit_cur(lx::rlimit_fsize))) return fail(Errno::fbig);
  return f->truncate(length);
}

// Linux: fs/sync.c do_fsync: the file's dirty pages are written back; a write-back error since
// the last sync is reported once (the page stays dirty). Files without an fsync operation
// (pipes, character devices, sockets) give EINVAL.
Result<void> Task::fsync(uint64_t fd, bool datasync) {
  (void)datasync;  // vmspace keeps no metadata to skip
  Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
  if (!f || f->is_path()) return fail(Errno::badf);
  const Ref<Inode> &in = f->inode();
  switch (in->kind()) {
    case InodeKind::regular:
    case InodeKind::shmem:
    case InodeKind::hugetlb:
      return in->sync_pages();
    case InodeKind::directory:
      return {};
    default:
      return fail(Errno::inval);
  }
}

// Linux: mm/memfd.c memfd_create.
Result<int> Task::memfd_create(std::string_view name, uint64_t flags) {
  SystemState &s = state_;
  if (!(flags & lx::mfd_hugetlb)) {
    if (flags & ~kMfdAllFlags) return fail(Errno::inval);
  } else {
    if (flags & ~(kMfdAllFlags | (lx::map_huge_mask << lx::map_huge_shift)))
      return fail(Errno::inval);
  }
  if ((flags & lx::mfd_exec) && (flags & lx::mfd_noexec_seal)) return fail(Errno::inval);
  if (name.size() > kMfdNameMax) return fail(Errno::inval);
  VMS_TRY(memory_available(s));
  const uint64_t nofile = rlimit_cur(lx::rlimit_nofile);
  VMS_TRY(files_->reserve_check(nofile));
  std::string path = "/memfd:" + std::string(name) + " (deleted)";
  Ref<Inode> in;
  if (flags & lx::mfd_hugetlb) {
    uint64_t log = (flags >> lx::map_huge_shift) & lx::map_huge_mask;
    uint64_t h;
    if (log == 0 || log == 21)
      h = 2ull << 20;
    else if (log == 30 && s.cfg.gigantic_pages)
      h = 1ull << 30;
    else
      return fail(Errno::inval);
    in = s.inodes.hugetlb(path, 0, h);
  } else {
    in = s.inodes.shmem(path, 0);
  }
  auto f = make_ref<OpenFile>(std::move(in), lx::o_rdwr | lx::o_largefile, -1);
  return files_->install(f, (flags & lx::mfd_cloexec) != 0, nofile);
}

}  // namespace vmspace
