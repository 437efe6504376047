// Process: the public handle to a Task. Every call holds the task's life_mu shared while it
// runs (so a task cannot die under a call), fails with ESRCH once the task is gone, and is
// the Task method of the same name. Calls that change the task itself (its limits,
// credentials, working directory, image) hold life_mu exclusively.
#include <mutex>
#include <new>
#include <shared_mutex>
#include <utility>

#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

namespace {
// A call on a live task: `t` is it, under a shared lock; otherwise return `dead`.
#define VMS_LIVE(dead)                           \
  Task *t = t_.get();                            \
  if (!t) return dead;                           \
  std::shared_lock<SharedLock> life(t->life_mu); \
  if (!t->alive) return dead
// The same, exclusively (the call changes the task).
#define VMS_LIVE_EXCLUSIVE(dead)                 \
  Task *t = t_.get();                            \
  if (!t) return dead;                           \
  std::unique_lock<SharedLock> life(t->life_mu); \
  if (!t->alive) return dead

// A call on a live task; the host running out of memory inside it (std::bad_alloc from an
// allocation nobody reserved) is ENOMEM for the caller: no exception crosses the API.
#define VMS_CALL(dead, ...)          \
  VMS_LIVE(dead);                    \
  try {                              \
    return __VA_ARGS__;              \
  } catch (const std::bad_alloc &) { \
    return Failure{Errno::nomem};    \
  }

const Failure kGone{Errno::srch};
}  // namespace

bool Process::alive() const {
  if (!t_) return false;
  std::shared_lock<SharedLock> life(t_->life_mu);
  return t_->alive;
}

int Process::exit_status() const {
  if (!t_) return 0;
  std::shared_lock<SharedLock> life(t_->life_mu);
  return t_->exit_status;
}

int Process::exit_signal() const {
  if (!t_) return 0;
  std::shared_lock<SharedLock> life(t_->life_mu);
  return t_->exit_signal;
}

int Process::pid() const { return t_ ? t_->pid() : 0; }
int Process::tgid() const { return t_ ? t_->tgid() : 0; }

// ---- memory ----

Result<uint64_t> Process::mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags,
                               uint64_t fd, uint64_t offset) {
  VMS_CALL(kGone, t->mmap(addr, len, prot, flags, fd, offset));
}

Result<void> Process::munmap(uint64_t addr, uint64_t len) { VMS_CALL(kGone, t->munmap(addr, len)); }

Result<void> Process::mprotect(uint64_t addr, uint64_t len, uint64_t prot) {
  VMS_CALL(kGone, t->mprotect(addr, len, prot));
}

uint64_t Process::brk(uint64_t addr) {
  VMS_LIVE(0);
  return t->brk(addr);
}

Result<uint64_t> Process::mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
                                 uint64_t new_addr) {
  VMS_CALL(kGone, t->mremap(addr, old_len, new_len, flags, new_addr));
}

Result<void> Process::mlock(uint64_t addr, uint64_t len) { VMS_CALL(kGone, t->mlock(addr, len)); }

Result<void> Process::mlock2(uint64_t addr, uint64_t len, uint64_t flags) {
  VMS_CALL(kGone, t->mlock2(addr, len, flags));
}

Result<void> Process::munlock(uint64_t addr, uint64_t len) {
  VMS_CALL(kGone, t->munlock(addr, len));
}

Result<void> Process::mlockall(uint64_t flags) { VMS_CALL(kGone, t->mlockall(flags)); }

Result<void> Process::munlockall() { VMS_CALL(kGone, t->munlockall()); }

Result<void> Process::madvise(uint64_t addr, uint64_t len, uint64_t advice) {
  VMS_CALL(kGone, t->madvise(addr, len, advice));
}

Result<void> Process::msync(uint64_t addr, uint64_t len, uint64_t flags) {
  VMS_CALL(kGone, t->msync(addr, len, flags));
}

Result<void> Process::mincore(uint64_t addr, uint64_t len, uint64_t vec) {
  VMS_CALL(kGone, t->mincore(addr, len, vec));
}

Result<void> Process::mincore(uint64_t addr, uint64_t len, uint8_t *host_vec) {
  VMS_CALL(kGone, t->mincore(addr, len, host_vec));
}

Result<void> Process::mseal(uint64_t addr, uint64_t len, uint64_t flags) {
  VMS_CALL(kGone, t->mseal(addr, len, flags));
}

Result<void> Process::set_vma_anon_name(uint64_t addr, uint64_t len, const char *name) {
  VMS_CALL(kGone, t->set_vma_anon_name(addr, len, name));
}

namespace {
Fault gone_fault(uint64_t addr) {
  Fault f;
  f.signal = lx::sigkill;
  f.addr = addr;
  return f;
}

// A guest access (op runs it on the live task, with life_mu held); when guest memory ran out
// the OOM killer runs with no lock of this task held, and the access is retried as long as
// it killed another process (the bytes stored before are stored again, unchanged).
template <class Op>
Fault guest_access(const std::shared_ptr<Task> &task, Fault dead, Op op) {
  for (;;) {
    Fault f;
    {
      Task *t = task.get();
      if (!t) return dead;
      std::shared_lock<SharedLock> life(t->life_mu);
      if (!t->alive) return dead;
      f = op(t);
    }
    if (!(f.signal == lx::sigkill && f.code == AddressSpace::kOomFaultCode)) return f;
    if (!task->state_.oom_kill(task->pid())) {
      f.code = lx::si_kernel;  // this process was the one to go
      return f;
    }
  }
}
}  // namespace

Fault Process::access(uint64_t addr, uint64_t len, bool write, bool exec) {
  return guest_access(t_, Fault{}, [&](Task *t) { return t->access(addr, len, write, exec); });
}

Fault Process::read(uint64_t addr, void *out, uint64_t len) {
  return guest_access(t_, gone_fault(addr), [&](Task *t) { return t->read_mem(addr, out, len); });
}

Fault Process::write(uint64_t addr, const void *in, uint64_t len) {
  return guest_access(t_, gone_fault(addr), [&](Task *t) { return t->write_mem(addr, in, len); });
}

Fault Process::fill(uint64_t addr, uint8_t byte, uint64_t len) {
  return guest_access(t_, gone_fault(addr), [&](Task *t) { return t->fill_mem(addr, byte, len); });
}

Process::Rss Process::rss() const {
  VMS_LIVE(Rss{});
  return t->rss();
}

// ---- files ----

Result<int> Process::open(std::string_view path, uint64_t flags, uint64_t mode) {
  VMS_CALL(kGone, t->open(path, flags, mode));
}

Result<int> Process::openat(uint64_t dirfd, std::string_view path, uint64_t flags, uint64_t mode) {
  VMS_CALL(kGone, t->openat(dirfd, path, flags, mode));
}

Result<void> Process::close(uint64_t fd) { VMS_CALL(kGone, t->close(fd)); }

Result<int> Process::dup(uint64_t fd) { VMS_CALL(kGone, t->dup(fd)); }

Result<int> Process::dup2(uint64_t oldfd, uint64_t newfd) {
  VMS_CALL(kGone, t->dup2(oldfd, newfd));
}

Result<int> Process::dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags) {
  VMS_CALL(kGone, t->dup3(oldfd, newfd, flags));
}

Result<void> Process::fsync(uint64_t fd) { VMS_CALL(kGone, t->fsync(fd, false)); }

Result<void> Process::fdatasync(uint64_t fd) { VMS_CALL(kGone, t->fsync(fd, true)); }

Result<uint64_t> Process::sys_read(uint64_t fd, uint64_t buf, uint64_t count) {
  VMS_CALL(kGone, t->file_io(fd, buf, nullptr, count, false, false, 0));
}

Result<uint64_t> Process::sys_write(uint64_t fd, uint64_t buf, uint64_t count) {
  VMS_CALL(kGone, t->file_io(fd, buf, nullptr, count, true, false, 0));
}

Result<uint64_t> Process::pread64(uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset) {
  VMS_CALL(kGone, t->file_io(fd, buf, nullptr, count, false, true, offset));
}

Result<uint64_t> Process::pwrite64(uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset) {
  VMS_CALL(kGone, t->file_io(fd, buf, nullptr, count, true, true, offset));
}

Result<uint64_t> Process::sys_read(uint64_t fd, uint8_t *host_buf, uint64_t count) {
  VMS_CALL(kGone, t->file_io(fd, 0, host_buf, count, false, false, 0));
}

// The host buffer is only read: file_io copies from it for a write.
Result<uint64_t> Process::sys_write(uint64_t fd, const uint8_t *host_buf, uint64_t count) {
  VMS_CALL(kGone, t->file_io(fd, 0, const_cast<uint8_t *>(host_buf), count, true, false, 0));
}

Result<uint64_t> Process::pread64(uint64_t fd, uint8_t *host_buf, uint64_t count, uint64_t offset) {
  VMS_CALL(kGone, t->file_io(fd, 0, host_buf, count, false, true, offset));
}

Result<uint64_t> Process::pwrite64(uint64_t fd, const uint8_t *host_buf, uint64_t count,
                                   uint64_t offset) {
  VMS_CALL(kGone, t->file_io(fd, 0, const_cast<uint8_t *>(host_buf), count, true, true, offset));
}

Result<uint64_t> Process::lseek(uint64_t fd, uint64_t offset, uint64_t whence) {
  VMS_CALL(kGone, t->lseek(fd, offset, whence));
}

Result<void> Process::ftruncate(uint64_t fd, uint64_t length) {
  VMS_CALL(kGone, t->ftruncate(fd, length));
}

Result<int> Process::fcntl(uint64_t fd, uint64_t cmd, uint64_t arg) {
  VMS_CALL(kGone, t->fcntl(fd, cmd, arg));
}

Result<int> Process::memfd_create(std::string_view name, uint64_t flags) {
  VMS_CALL(kGone, t->memfd_create(name, flags));
}

Result<void> Process::close_range(uint64_t first, uint64_t last, uint64_t flags) {
  VMS_CALL(kGone, t->close_range(first, last, flags));
}

Result<void> Process::install_placeholder(uint64_t fd, bool cloexec) {
  VMS_CALL(kGone, t->install_placeholder(fd, cloexec));
}

int Process::host_fd(uint64_t fd) const {
  VMS_LIVE(-1);
  return t->host_fd(fd);
}

Result<void> Process::unlinkat(uint64_t dirfd, std::string_view path, uint64_t flags) {
  VMS_CALL(kGone, t->unlinkat(dirfd, path, flags));
}

Result<void> Process::linkat(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                             std::string_view newpath, uint64_t flags) {
  VMS_CALL(kGone, t->linkat(olddirfd, oldpath, newdirfd, newpath, flags));
}

Result<void> Process::renameat2(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                                std::string_view newpath, uint64_t flags) {
  VMS_CALL(kGone, t->renameat2(olddirfd, oldpath, newdirfd, newpath, flags));
}

// ---- processes ----

Result<int> Process::fork() { VMS_CALL(kGone, t->fork()); }

Result<int> Process::vfork() { VMS_CALL(kGone, t->vfork()); }

Result<int> Process::clone(uint64_t flags) { VMS_CALL(kGone, t->clone(flags)); }

Result<void> Process::execve(std::string_view path, const std::vector<std::string> &argv,
                             const std::vector<std::string> &envp) {
  return execveat(static_cast<uint64_t>(lx::at_fdcwd), path, argv, envp, 0);
}

Result<void> Process::execveat(uint64_t dirfd, std::string_view path,
                               const std::vector<std::string> &argv,
                               const std::vector<std::string> &envp, uint64_t flags) {
  Result<void> r;
  int doomed = 0;
  {
    // The image changes: nothing else may run on this task meanwhile.
    VMS_LIVE_EXCLUSIVE(kGone);
    try {
      r = t->execveat(dirfd, path, argv, envp, flags);
    } catch (const std::bad_alloc &) {
      r = fail(Errno::nomem);
    }
    doomed = std::exchange(t->doomed, 0);
  }
  // Failed past the point of no return: the process dies of that signal, as on Linux.
  if (doomed) t_->state_.end_group(t_->pid(), 0, doomed);
  return r;
}

void Process::exit_group(int status) {
  if (!alive()) return;
  t_->state_.end_group(t_->pid(), status, 0);
}

// ---- state ----

std::string Process::maps() const {
  VMS_LIVE(std::string());
  try {
    return t->maps();
  } catch (const std::bad_alloc &) {
    return {};  // the host has no memory for the text
  }
}

std::string Process::status() const {
  VMS_LIVE(std::string());
  try {
    return t->status();
  } catch (const std::bad_alloc &) {
    return {};  // the host has no memory for the text
  }
}

std::vector<VmaInfo> Process::vmas() const {
  VMS_LIVE(std::vector<VmaInfo>());
  try {
    return t->vmas();
  } catch (const std::bad_alloc &) {
    return {};  // the host has no memory for the text
  }
}

std::string Process::smaps(uint64_t addr) const {
  VMS_LIVE("");
  return t->smaps(addr);
}

std::string Process::smaps_rollup() const {
  VMS_LIVE("");
  return t->smaps_rollup();
}

void Process::set_status_base(const StatusBase &b) {
  VMS_LIVE();
  t->set_status_base(b);
}

uint64_t Process::page_size() const {
  VMS_LIVE(4096);
  return t->page_size();
}

int Process::map_count() const {
  VMS_LIVE(0);
  return t->map_count();
}

bool Process::import_layout(std::string_view text, std::string *error) {
  Task *t = t_.get();
  if (!t) {
    *error = "1:1: no such process";
    return false;
  }
  std::unique_lock<SharedLock> life(t->life_mu);
  if (!t->alive) {
    *error = "1:1: the process has exited";
    return false;
  }
  return t->import_layout(text, error);
}

uint64_t Process::rlimit_cur(int resource) const {
  VMS_LIVE(0);
  return t->rlimit_cur(resource);
}

uint64_t Process::rlimit_max(int resource) const {
  VMS_LIVE(0);
  return t->rlimit_max(resource);
}

Result<void> Process::set_rlimit(int resource, uint64_t soft, uint64_t hard) {
  VMS_LIVE_EXCLUSIVE(kGone);
  return t->set_rlimit(resource, soft, hard);
}

void Process::force_rlimit(int resource, uint64_t soft, uint64_t hard) {
  VMS_LIVE_EXCLUSIVE();
  t->force_rlimit(resource, soft, hard);
}

bool Process::privileged() const {
  VMS_LIVE(false);
  return t->privileged();
}

bool Process::has_capability(int cap) const {
  VMS_LIVE(false);
  return t->has_capability(cap);
}

uint64_t Process::capabilities() const {
  VMS_LIVE(0);
  return t->capabilities();
}

void Process::drop_privileges() {
  VMS_LIVE_EXCLUSIVE();
  t->drop_privileges();
}

void Process::set_credentials(uint32_t euid, uint64_t effective_caps) {
  VMS_LIVE_EXCLUSIVE();
  t->set_credentials(euid == 0, effective_caps);
}

std::string Process::cwd() const {
  VMS_LIVE(std::string());
  return t->cwd();
}

void Process::set_cwd(std::string dir) {
  VMS_LIVE_EXCLUSIVE();
  t->set_cwd(std::move(dir));
}

MmLayout Process::layout() const {
  VMS_LIVE(MmLayout{});
  return t->layout();
}

void Process::set_layout_listener(std::function<void(const LayoutChange &)> listener) {
  VMS_LIVE();
  t->set_layout_listener(std::move(listener));
}

uint64_t Process::mm_id() const {
  VMS_LIVE(0);
  return t->mm_id();
}

bool Process::validate(std::string *why) const {
  VMS_LIVE(true);
  return t->validate(why);
}

}  // namespace vmspace
