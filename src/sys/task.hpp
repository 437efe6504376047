// Task: the state of one guest process (Linux: task_struct with its mm_struct and
// files_struct pointers, rlimits, credentials, working directory) and its system calls. The
// public Process (vmspace/process.hpp) is a handle to a Task: it checks that the task is
// alive under life_mu and calls the Task's method of the same name.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.hpp"
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/result.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

class FdTable;
class OpenFile;
class PageCache;
class System;
struct SystemState;

class Task {
 public:
  Task(System *sys, SystemState &state, int pid);
  ~Task();
  Task(const Task &) = delete;
  Task &operator=(const Task &) = delete;

  int pid() const { return pid_; }
  uint64_t page_size() const { return mm_->page_size; }
  std::string smaps(uint64_t addr) const;
  std::string smaps_rollup() const;
  void set_status_base(const Process::StatusBase &b);

  // ---- memory ----
  // Linux: sys_mmap (arch/x86/kernel/sys_x86_64.c) -> ksys_mmap_pgoff -> do_mmap.
  Result<uint64_t> mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
                        uint64_t offset);
  // Linux: __vm_munmap -> do_vmi_munmap.
  Result<void> munmap(uint64_t addr, uint64_t len);
  // Linux: do_mprotect_pkey.
  Result<void> mprotect(uint64_t addr, uint64_t len, uint64_t prot);

  // Linux: sys_brk. Returns the new break, or the old one when the request
  // fails.
  uint64_t brk(uint64_t addr);
  // Linux: sys_mremap (MREMAP_MAYMOVE 1, MREMAP_FIXED 2, MREMAP_DONTUNMAP 4).
  Result<uint64_t> mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
                          uint64_t new_addr);
  Result<void> mlock(uint64_t addr, uint64_t len);
  Result<void> mlock2(uint64_t addr, uint64_t len,
                      uint64_t flags);  // MLOCK_ONFAULT 1
  Result<void> munlock(uint64_t addr, uint64_t len);
  Result<void> mlockall(uint64_t flags);  // MCL_CURRENT 1, MCL_FUTURE 2, MCL_ONFAULT 4
  Result<void> munlockall();
  Result<void> madvise(uint64_t addr, uint64_t len, uint64_t advice);
  // msync and mincore check their arguments and the VMAs of the range as Linux does; writing
  // back and reporting residency come with the page layer (mincore writes zeros: not
  // resident). mincore with a guest address writes the vector into guest memory (EFAULT
  // where it cannot); with a host buffer (which may be null: no vector wanted), there.
  Result<void> msync(uint64_t addr, uint64_t len, uint64_t flags);
  Result<void> mincore(uint64_t addr, uint64_t len, uint64_t vec);
  Result<void> mincore(uint64_t addr, uint64_t len, uint8_t *host_vec);
  Result<void> mseal(uint64_t addr, uint64_t len, uint64_t flags);
  // prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name): names anonymous
  // memory; EINVAL unless SystemConfig::anon_vma_name (off, like the reference
  // kernel). A null name clears.
  Result<void> set_vma_anon_name(uint64_t addr, uint64_t len, const char *name);

  // Touches one byte in every page of [addr, addr+len), as a guest load or store would,
  // stopping at the first fault. Faults in pages (anonymous memory gets its anon_vma, stacks
  // grow) as Linux's fault handler does at the VMA level.
  Fault touch(uint64_t addr, uint64_t len, bool write) { return access(addr, len, write, false); }
  // The same for an instruction fetch (`exec`: the page needs VM_EXEC), or a load or store.
  Fault access(uint64_t addr, uint64_t len, bool write, bool exec);
  Fault read_mem(uint64_t addr, void *out, uint64_t len);
  Fault write_mem(uint64_t addr, const void *in, uint64_t len);
  Fault fill_mem(uint64_t addr, uint8_t byte, uint64_t len);
  Process::Rss rss() const;

  // ---- files ----
  Result<int> open(std::string_view path, uint64_t flags, uint64_t mode);
  Result<int> openat(uint64_t dirfd, std::string_view path, uint64_t flags, uint64_t mode);
  Result<void> close(uint64_t fd);
  Result<int> dup(uint64_t fd);
  Result<int> dup2(uint64_t oldfd, uint64_t newfd);
  Result<int> dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags);
  Result<void> ftruncate(uint64_t fd, uint64_t length);
  Result<void> fsync(uint64_t fd, bool datasync);
  // read, write, pread64, pwrite64: the buffer is guest memory at buf, or host memory when
  // host is not null (file_io.cpp).
  Result<uint64_t> file_io(uint64_t fd, uint64_t buf, uint8_t *host, uint64_t count, bool write,
                           bool positional, uint64_t pos);
  // read(2)'s readahead before a read of count bytes at pos (file_io.cpp).
  void read_ahead(const OpenFile &f, PageCache &pc, uint64_t pos, uint64_t count, uint64_t size);
  Result<uint64_t> lseek(uint64_t fd, uint64_t offset, uint64_t whence);
  // fcntl: F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL (others: ENOSYS, not modelled).
  Result<int> fcntl(uint64_t fd, uint64_t cmd, uint64_t arg);
  Result<int> memfd_create(std::string_view name, uint64_t flags);
  // close_range(first, last, flags): CLOSE_RANGE_CLOEXEC (4) marks instead of closing;
  // CLOSE_RANGE_UNSHARE (2) is accepted.
  Result<void> close_range(uint64_t first, uint64_t last, uint64_t flags);
  // Puts at descriptor fd a descriptor vmspace does not model (a socket, a pipe, an
  // eventfd: a virtual /dev/null, which cannot be mapped), closing what was there, so that
  // later descriptors are numbered as the program's were. EBADF past RLIMIT_NOFILE.
  Result<void> install_placeholder(uint64_t fd, bool cloexec);
  // The host descriptor behind the guest's descriptor fd (for an embedder that serves a
  // file's reads and writes itself); -1 when fd is not open or names no host file (a
  // device, memfd, shared memory).
  int host_fd(uint64_t fd) const;
  // unlinkat(dirfd, path, 0 or AT_REMOVEDIR); unlink(path) is unlinkat(AT_FDCWD, path, 0).
  // A mapped file that loses its last name shows " (deleted)" in maps.
  Result<void> unlinkat(uint64_t dirfd, std::string_view path, uint64_t flags);
  // linkat (flags AT_SYMLINK_FOLLOW, AT_EMPTY_PATH accepted) and renameat2 (RENAME_NOREPLACE,
  // RENAME_EXCHANGE): a mapped
  // stand-in shows its new name, as d_path would.
  Result<void> linkat(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                      std::string_view newpath, uint64_t flags);
  Result<void> renameat2(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                         std::string_view newpath, uint64_t flags);

  // ---- processes ----
  // fork(): a child with a copy of this address space (Linux: dup_mmap) and
  // descriptor table. Returns the child's pid.
  Result<int> fork();
  // vfork(): a child that shares this address space until it execs or exits.
  Result<int> vfork();
  // clone(flags): CLONE_VM shares the address space, CLONE_FILES the descriptor
  // table, CLONE_THREAD makes a thread of this process; everything else is
  // copied.
  Result<int> clone(uint64_t flags);
  // execve(path, argv, envp): replaces the address space by a fresh one with the ELF file at
  // path (and its PT_INTERP interpreter) laid out as Linux's ELF loader lays it out with ASLR
  // off, and closes close-on-exec descriptors. Errors before the point of no return leave
  // everything as it was (ENOENT, EACCES, ENOEXEC, ELIBBAD, E2BIG, ...); a failure after it
  // ends the process as Linux's SIGSEGV does (this object is destroyed).
  Result<void> execve(std::string_view path, const std::vector<std::string> &argv,
                      const std::vector<std::string> &envp);
  // execveat(dirfd, path, argv, envp, flags): path relative to dirfd, or dirfd's own file with
  // AT_EMPTY_PATH (fexecve); AT_SYMLINK_NOFOLLOW. The program sees "/dev/fd/N[/PATH]" as its
  // file name when a descriptor named it.
  Result<void> execveat(uint64_t dirfd, std::string_view path, const std::vector<std::string> &argv,
                        const std::vector<std::string> &envp, uint64_t flags);
  // The thread group (the pid of the group leader); equal to pid() for
  // processes.
  int tgid() const { return tgid_; }

  // ---- state ----
  std::string maps() const;
  // The memory lines of /proc/PID/status the VMA layer decides (VmPeak, VmSize,
  // VmLck, VmPin, VmData, VmStk, VmExe, VmLib), formatted as Linux does.
  std::string status() const;
  std::vector<VmaInfo> vmas() const;
  int map_count() const;
  // Replaces the address space by the layout described as /proc/PID/maps text (optionally
  // smaps text, whose VmFlags and Anonymous lines make the import exact). File mappings are
  // reopened read-only from their paths where those exist; special mappings are recreated.
  // On failure *error says "line:col: message" and the process is unchanged.
  bool import_layout(std::string_view text, std::string *error);

  uint64_t rlimit_cur(int resource) const;
  uint64_t rlimit_max(int resource) const;
  // setrlimit(2) semantics: EINVAL when soft > hard, EPERM when raising hard unprivileged.
  Result<void> set_rlimit(int resource, uint64_t soft, uint64_t hard);
  // Sets a limit without the checks of setrlimit (environment set-up, like a login shell).
  void force_rlimit(int resource, uint64_t soft, uint64_t hard) {
    if (resource >= 0 && resource < 16) {
      rlim_cur_[resource] = soft;
      rlim_max_[resource] = hard;
    }
  }
  // Root (uid 0) or an ordinary user; root's capabilities are SystemConfig::root_capabilities.
  bool privileged() const { return privileged_; }
  bool has_capability(int cap) const { return (caps_ >> cap) & 1; }
  uint64_t capabilities() const { return caps_; }
  // Becomes an ordinary user (uid 65534) with no capabilities; there is no way back.
  void drop_privileges() {
    privileged_ = false;
    caps_ = 0;
  }
  void set_credentials(bool root, uint64_t caps) {
    privileged_ = root;
    caps_ = caps;
  }

  // The working directory relative paths (AT_FDCWD) start from: an absolute guest path, or
  // empty for the sandbox directory. A replay sets the recorded program's (@cwd).
  const std::string &cwd() const { return cwd_; }
  void set_cwd(std::string dir) { cwd_ = std::move(dir); }

  // The identity of this process's address space: equal for processes that share one
  // (threads, a vfork child until it execs), never reused for another.
  uint64_t mm_id() const;
  // Linux: oom_badness without oom_score_adj: resident pages plus page-table pages.
  // *mm gets the address space's id (0 for a dead task, which scores 0).
  uint64_t oom_points(uint64_t *mm) const;

  // Checks every invariant of the address space (tree, counters, VMA sanity).
  bool validate(std::string *why) const;

  AddressSpace &mm() { return *mm_; }
  const AddressSpace &mm() const { return *mm_; }
  FdTable &files() { return *files_; }
  MmLayout layout() const;
  void set_layout_listener(std::function<void(const LayoutChange &)> l);

  // ---- life (guarded by life_mu: calls hold it shared, death takes it exclusively) ----
  mutable SharedLock life_mu;
  bool alive = true;
  int exit_status = 0;  // exit_group's status
  int exit_signal = 0;  // the signal that killed it (SIGSEGV after a failed execve)
  // Set by a call that must end the process once it returns (execve past its point of no
  // return): the signal to kill it with.
  int doomed = 0;
  // Ends the task: its address space and descriptor table go (if nothing else shares them).
  // The caller holds life_mu exclusively.
  void die(int status, int signal);
  // What a task costs the host besides its address space and descriptors.
  static constexpr int64_t kTaskBytes = 2048;

  System *sys_;
  SystemState &state_;
  int pid_;
  int tgid_;
  std::shared_ptr<AddressSpace> mm_;
  std::shared_ptr<FdTable> files_;
  uint64_t rlim_cur_[16];
  uint64_t rlim_max_[16];
  Result<void> link_or_rename(uint64_t olddirfd, std::string_view oldpath, uint64_t newdirfd,
                              std::string_view newpath, bool rename, unsigned flags);
  Result<void> mincore_common(uint64_t start, uint64_t len, uint64_t vec, uint8_t *host_vec,
                              bool host);

  bool privileged_ = true;
  uint64_t caps_ = ~0ull;
  std::string cwd_;
};

// The limits and capabilities of a task, as the mm core wants them.
inline TaskLimits task_limits(const Task &p) {
  TaskLimits l;
  l.rlimit_as = p.rlimit_cur(lx::rlimit_as);
  l.rlimit_data = p.rlimit_cur(lx::rlimit_data);
  l.rlimit_data_max = p.rlimit_max(lx::rlimit_data);
  l.rlimit_memlock = p.rlimit_cur(lx::rlimit_memlock);
  l.rlimit_stack = p.rlimit_cur(lx::rlimit_stack);
  l.cap_ipc_lock = p.has_capability(cap::ipc_lock);
  l.cap_sys_rawio = p.has_capability(cap::sys_rawio);
  l.cap_sys_admin = p.has_capability(cap::sys_admin);
  return l;
}

}  // namespace vmspace
