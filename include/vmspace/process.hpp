// vmspace — a guest process: its address space, descriptors, limits and credentials, with
// the Linux system-call surface.
//
// A Process is a handle: cheap to copy, safe to keep. It never dangles: once the process has
// exited (or its System is gone), every call fails with ESRCH. Calls may be made from any
// thread (see README, "Thread safety").
//
// Synopsis (every call returns a Result carrying Linux's return value or errno)
//   mmap(addr, len, prot, flags, fd, off) -> address     munmap(addr, len)
//   mprotect(addr, len, prot)                            open/openat/close/dup/dup2/dup3
//   ftruncate(fd, length)                                memfd_create(name, flags)
//   maps()                 /proc/PID/maps text, byte for byte as Linux renders it
//   vmas()                 the VMAs as values
//   import_layout(text)    replace the address space by one described as maps (or smaps) text
//   set_rlimit / rlimit    resource limits (RLIMIT_AS, DATA, STACK, MEMLOCK, NOFILE, ...)
//   drop_privileges()      become an ordinary user (no CAP_SYS_RAWIO, CAP_IPC_LOCK)
//   set_credentials(e, c)  the effective uid and capabilities a credential call left
//   fork/vfork/clone/exit_group, execve(path, argv, envp)
//
// Arguments are taken as the kernel takes them: 64-bit registers, with descriptors truncated to
// 32 bits, so a guest's -1 is 0xffffffffffffffff here.
//
// Example
//   auto fd = p.open("data.bin", lx::o_rdwr | lx::o_creat, 0666);
//   auto a = p.mmap(0, 4096, lx::prot_read, lx::map_shared, *fd, 0);
//   if (!a) printf("%s\n", errno_name(a.error()));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmspace/abi.hpp"
#include "vmspace/result.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

class System;
class Task;

class Process {
 public:
  // No process (a failed lookup); every call on it fails with ESRCH.
  Process() = default;
  // Does this handle name a process (which may have exited since)?
  explicit operator bool() const { return t_ != nullptr; }
  // Is the process still running? After exit_group, a kill, or the end of its System, every
  // call fails with ESRCH (and value-returning queries give empty values).
  bool alive() const;
  // How it ended: exit_group's status, or the signal that killed it (SIGSEGV when an execve
  // failed past its point of no return, as Linux does).
  int exit_status() const;
  int exit_signal() const;

  int pid() const;
  System &system() { return *sys_; }

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
  // msync writes dirty pages back (MS_SYNC), invalidates (MS_INVALIDATE) or only checks
  // (MS_ASYNC); mincore reports page-cache residency for file pages and present pages for
  // anonymous memory. mincore with a guest address writes the vector into guest memory
  // (EFAULT where it cannot); with a host buffer (which may be null: no vector wanted), there.
  Result<void> msync(uint64_t addr, uint64_t len, uint64_t flags);
  Result<void> mincore(uint64_t addr, uint64_t len, uint64_t vec);
  Result<void> mincore(uint64_t addr, uint64_t len, uint8_t *host_vec);
  Result<void> mseal(uint64_t addr, uint64_t len, uint64_t flags);
  // prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name): names anonymous
  // memory; EINVAL unless SystemConfig::anon_vma_name (off, like the reference
  // kernel). A null name clears.
  Result<void> set_vma_anon_name(uint64_t addr, uint64_t len, const char *name);

  // ---- guest memory ----
  // Loads addr and then every page start below addr+len, as a guest would (`write`: stores
  // each loaded byte back, a store that changes nothing), stopping at the first fault. Pages
  // become present as Linux's fault handler makes them (the zero page, a new page, the page
  // cache, copy-on-write); stacks grow.
  Fault touch(uint64_t addr, uint64_t len, bool write) { return access(addr, len, write, false); }
  // The same for an instruction fetch (`exec`: the page needs VM_EXEC), or a load or store.
  Fault access(uint64_t addr, uint64_t len, bool write, bool exec);
  // Guest loads and stores of len bytes, one byte after another in ascending order; each
  // stops at the first fault (Fault::addr is the byte that faulted), with the bytes before it
  // loaded into out or stored. When guest memory (SystemConfig::ram_limit) is exhausted the
  // fault is SIGKILL, as the OOM killer's. A process that has exited: SIGKILL at addr.
  Fault read(uint64_t addr, void *out, uint64_t len);
  Fault write(uint64_t addr, const void *in, uint64_t len);
  Fault fill(uint64_t addr, uint8_t byte, uint64_t len);
  // Resident memory in pages (the /proc/PID/status RssAnon, RssFile, RssShmem, VmHWM).
  struct Rss {
    uint64_t anon = 0, file = 0, shmem = 0, hiwater = 0;
  };
  Rss rss() const;

  // ---- files ----
  Result<int> open(std::string_view path, uint64_t flags, uint64_t mode);
  Result<int> openat(uint64_t dirfd, std::string_view path, uint64_t flags, uint64_t mode);
  Result<void> close(uint64_t fd);
  Result<int> dup(uint64_t fd);
  Result<int> dup2(uint64_t oldfd, uint64_t newfd);
  Result<int> dup3(uint64_t oldfd, uint64_t newfd, uint64_t flags);
  Result<void> ftruncate(uint64_t fd, uint64_t length);
  // fsync, fdatasync: write the file's dirty pages back (EBADF, EINVAL for files without
  // fsync: pipes, devices; a write-back error once, as Linux's errseq).
  Result<void> fsync(uint64_t fd);
  Result<void> fdatasync(uint64_t fd);
  // read(2), write(2), pread64(2), pwrite64(2) through the page cache every mapping of the
  // file shares (regular files, memfd; /dev/null, /dev/zero, /dev/full, /dev/[u]random).
  // buf is guest memory: a buffer that cannot be accessed gives EFAULT, or a short count
  // when some bytes were copied. The host_buf forms copy to and from host memory instead.
  // Descriptors vmspace does not model (placeholders, pipes): ENOSYS.
  Result<uint64_t> sys_read(uint64_t fd, uint64_t buf, uint64_t count);
  Result<uint64_t> sys_write(uint64_t fd, uint64_t buf, uint64_t count);
  Result<uint64_t> pread64(uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset);
  Result<uint64_t> pwrite64(uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset);
  Result<uint64_t> sys_read(uint64_t fd, uint8_t *host_buf, uint64_t count);
  Result<uint64_t> sys_write(uint64_t fd, const uint8_t *host_buf, uint64_t count);
  Result<uint64_t> pread64(uint64_t fd, uint8_t *host_buf, uint64_t count, uint64_t offset);
  Result<uint64_t> pwrite64(uint64_t fd, const uint8_t *host_buf, uint64_t count, uint64_t offset);
  // lseek(2): SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE.
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
  // exit_group(): this process (and its threads) end; shared memory stays with
  // the others.
  void exit_group(int status);
  // The thread group (the pid of the group leader); equal to pid() for
  // processes.
  int tgid() const;

  // ---- state ----
  std::string maps() const;
  // The memory lines of /proc/PID/status (VmPeak, VmSize, VmLck, VmPin, VmHWM, VmRSS,
  // RssAnon, RssFile, RssShmem, VmData, VmStk, VmExe, VmLib, VmPTE, VmSwap), formatted as
  // Linux does.
  std::string status() const;
  // The /proc/PID/smaps entry of the VMA that holds addr ("" when none does).
  std::string smaps(uint64_t addr) const;
  // /proc/PID/smaps_rollup: every VMA's counters summed under a "[rollup]" header line.
  std::string smaps_rollup() const;
  // The status counters of an imported layout (a @status block after @layout): RssAnon,
  // RssFile, RssShmem, VmHWM and VmPTE in kB as the kernel printed them; status() adds what
  // vmspace's pages change from there.
  struct StatusBase {
    uint64_t rss_anon_kb = 0, rss_file_kb = 0, rss_shmem_kb = 0, hwm_kb = 0, pte_kb = 0;
  };
  void set_status_base(const StatusBase &b);
  std::vector<VmaInfo> vmas() const;
  int map_count() const;
  // The page size of this process's address space (SystemConfig::page_size).
  uint64_t page_size() const;
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
  void force_rlimit(int resource, uint64_t soft, uint64_t hard);
  // Root (uid 0) or an ordinary user; root's capabilities are SystemConfig::root_capabilities.
  bool privileged() const;
  bool has_capability(int cap) const;
  uint64_t capabilities() const;
  // Becomes an ordinary user (uid 65534) with no capabilities; there is no way back.
  void drop_privileges();
  // Sets the effective identity as a credential call left it (a replay's @cred): root for
  // file access when euid is 0, and the effective capability set (bit N: capability N).
  void set_credentials(uint32_t euid, uint64_t effective_caps);

  // The working directory relative paths (AT_FDCWD) start from: an absolute guest path, or
  // empty for the sandbox directory. A replay sets the recorded program's (@cwd).
  std::string cwd() const;
  void set_cwd(std::string dir);

  // The layout fields /proc/PID/stat shows (start_code, brk, start_stack, ...).
  MmLayout layout() const;

  // Tells `listener` after every change to this process's address space (and so of every
  // process sharing it: threads, a vfork child) what the change did to which range: for an
  // emulator's TLB and translated code. It runs on the thread that made the change, while
  // that thread holds the address space's lock: it must not call into vmspace for this
  // address space. An execve takes the listener along (an "unmapped" of everything, then a
  // "mapped" of every new VMA); page-level effects (MADV_DONTNEED) come with the page layer.
  // An empty function unregisters.
  void set_layout_listener(std::function<void(const LayoutChange &)> listener);

  // The identity of this process's address space: equal for processes that share one
  // (threads, a vfork child until it execs), never reused for another.
  uint64_t mm_id() const;

  // Checks every invariant of the address space (tree, counters, VMA sanity).
  bool validate(std::string *why) const;

 private:
  friend class System;
  friend class Accessor;
  Process(System *sys, std::shared_ptr<Task> t) : sys_(sys), t_(std::move(t)) {}
  System *sys_ = nullptr;
  std::shared_ptr<Task> t_;
};

// Linux capability numbers used by the memory calls.
namespace cap {
inline constexpr int ipc_lock = 14;
inline constexpr int sys_rawio = 17;
inline constexpr int sys_admin = 21;
inline constexpr int sys_resource = 24;
}  // namespace cap

}  // namespace vmspace
