// What each system call's exit writes to a trace: the call line in the script language,
// and the metadata lines around it (@hostfile, @fd, @rlimit, unsupported markers). Part of
// the Recorder (recorder_impl.hpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include "file/elf.hpp"
#include "trace/calls.hpp"
#include "trace/host_files.hpp"
#include "trace/record_calls.hpp"
#include "trace/recorder_impl.hpp"
#include "trace/symbols.hpp"
#include "trace/tracee.hpp"

namespace vmspace::rec {

// The text of a finished call, or "" when it is not one the trace keeps.
void Recorder::exit(pid_t t, Task &task, int64_t ret) {
  const user_regs_struct &r = task.entry;
  const long nr = static_cast<long>(r.orig_rax);
  // Before the program's first execve the calls are the recorder's own (in the child it
  // forked): only the execve attempts count.
  if (exec_pending_ && nr != nr_execve && nr != nr_execveat) return;
  const char *name = nullptr;
  std::vector<ArgVal> a;
  auto num = [&](uint64_t v) {
    ArgVal x;
    x.v = v;
    a.push_back(x);
  };
  auto str = [&](const std::string &s) {
    ArgVal x;
    x.s = s;
    x.is_str = true;
    a.push_back(x);
  };
  // A path argument: its string, or the address that could not be read.
  auto path = [&](bool second) {
    if (second ? task.path2_fault : task.path_fault)
      num(second ? task.path2_addr : task.path_addr);
    else
      str(second ? task.path2 : task.path);
  };
  bool memory = false;  // a checkpoint follows
  const pid_t proc = task.tgid ? task.tgid : t;
  if ((nr == nr_write || nr == nr_pwrite64 || nr == nr_writev) && ret > 0) {
    // A write to /proc/sys/vm/NAME: the value the kernel now has.
    auto fds = sysctl_fds_.find(proc);
    if (fds != sysctl_fds_.end()) {
      auto it = fds->second.find(static_cast<int>(r.rdi));
      if (it != fds->second.end()) sysctl_written(t, it->second);
    }
  }
  if ((nr == nr_close || nr == nr_dup2 || nr == nr_dup3) && ret >= 0) {
    auto fds = sysctl_fds_.find(proc);
    if (fds != sysctl_fds_.end())
      fds->second.erase(static_cast<int>(nr == nr_close ? r.rdi : r.rsi));
  }
  if ((nr == nr_open || nr == nr_openat || nr == nr_creat) && ret >= 0 && !task.path_fault) {
    const uint64_t flags = nr == nr_openat ? r.rdx : nr == nr_open ? r.rsi : 1;
    const std::string name = modelled_sysctl(task.path);
    if (!name.empty() && (flags & 3) != 0) sysctl_fds_[proc][static_cast<int>(ret)] = name;
  }
  if (changes_credentials(nr) && nr != nr_execve && nr != nr_execveat) {
    // setuid, setresuid, capset, ...: what they left is read back (@cred), whatever the call
    // returned (a setxid call of one thread, glibc's broadcast to the others, setfsuid's
    // old value).
    credentials(t, task);
    return;
  }
  switch (nr) {
    case nr_mmap:
      name = "mmap";
      num(r.rdi), num(r.rsi), num(r.rdx), num(r.r10), num(r.r8), num(r.r9);
      memory = true;
      break;
    case nr_munmap:
      name = "munmap", num(r.rdi), num(r.rsi), memory = true;
      break;
    case nr_mprotect:
      name = "mprotect", num(r.rdi), num(r.rsi), num(r.rdx), memory = true;
      break;
    case nr_mremap:
      name = "mremap", num(r.rdi), num(r.rsi), num(r.rdx), num(r.r10), num(r.r8);
      memory = true;
      break;
    case nr_brk:
      name = "brk", num(r.rdi), memory = true;
      break;
    case nr_madvise:
      name = "madvise", num(r.rdi), num(r.rsi), num(r.rdx), memory = true;
      break;
    case nr_mlock:
      name = "mlock", num(r.rdi), num(r.rsi), memory = true;
      break;
    case nr_mlock2:
      name = "mlock2", num(r.rdi), num(r.rsi), num(r.rdx), memory = true;
      break;
    case nr_munlock:
      name = "munlock", num(r.rdi), num(r.rsi), memory = true;
      break;
    case nr_mlockall:
      name = "mlockall", num(r.rdi), memory = true;
      break;
    case nr_munlockall:
      name = "munlockall", memory = true;
      break;
    case nr_msync:
      name = "msync", num(r.rdi), num(r.rsi), num(r.rdx);
      break;
    case nr_mincore:
      name = "mincore", num(r.rdi), num(r.rsi), num(r.rdx);
      break;
    case nr_mseal:
      name = "mseal", num(r.rdi), num(r.rsi), num(r.rdx), memory = true;
      break;
    case nr_prctl:
      if (r.rdi != kPrSetVma) return;
      name = "prctl", num(r.rdi), num(r.rsi), num(r.rdx), num(r.r10);
      if (r.r8)
        str(task.path);
      else
        num(0);
      memory = true;
      break;
    case nr_open:
      name = "open", path(false), num(r.rsi), num(r.rdx);
      break;
    case nr_creat:
      name = "open", path(false), num(0x241), num(r.rsi);  // O_CREAT|O_WRONLY|O_TRUNC
      break;
    case nr_openat:
      name = "openat", num(r.rdi), path(false), num(r.rdx), num(r.r10);
      break;
    case nr_close:
      name = "close", num(r.rdi);
      break;
    case nr_unlink:
      name = "unlink", path(false);
      break;
    case nr_rmdir:
      name = "rmdir", path(false);
      break;
    case nr_unlinkat:
      name = "unlinkat", num(r.rdi), path(false), num(r.rdx);
      break;
    case nr_link:
      name = "link", path(false), path(true);
      break;
    case nr_rename:
      name = "rename", path(false), path(true);
      break;
    case nr_linkat:
      name = "linkat", num(r.rdi), path(false), num(r.rdx), path(true), num(r.r8);
      break;
    case nr_renameat:
      name = "renameat", num(r.rdi), path(false), num(r.rdx), path(true);
      break;
    case nr_renameat2:
      name = "renameat2", num(r.rdi), path(false), num(r.rdx), path(true), num(r.r8);
      break;
    case nr_dup:
      name = "dup", num(r.rdi);
      break;
    case nr_dup2:
      name = "dup2", num(r.rdi), num(r.rsi);
      break;
    case nr_dup3:
      name = "dup3", num(r.rdi), num(r.rsi), num(r.rdx);
      break;
    case nr_fcntl:
      if (r.rsi != 0 && r.rsi != 1030 && r.rsi != 2) return;  // F_DUPFD*, F_SETFD
      name = "fcntl", num(r.rdi), num(r.rsi), num(r.rdx);
      break;
    case nr_close_range:
      name = "close_range", num(r.rdi), num(r.rsi), num(r.rdx);
      break;
    case nr_ftruncate:
      name = "ftruncate", num(r.rdi), num(r.rsi);
      break;
    case nr_memfd_create:
      name = "memfd_create", path(false), num(r.rsi);
      break;
    case nr_fork:
    case nr_vfork:
    case nr_clone:
    case nr_clone3:
      if (task.announced || ret >= 0) return;  // written at the fork event
      if (nr == nr_fork) name = "fork";
      if (nr == nr_vfork) name = "vfork";
      if (nr == nr_clone || nr == nr_clone3) name = "clone", num(nr == nr_clone ? r.rdi : 0);
      break;
    case nr_execve:
    case nr_execveat: {
      if (!task.strings_ok) {
        line(t, "# unsupported: execve with unreadable arguments");
        unsupported_++;
        return;
      }
      name = nr == nr_execve ? "execve" : "execveat";
      if (nr == nr_execveat) num(r.rdi);
      str(task.path);
      ArgVal av, ev;
      av.opaque = ev.opaque = true;
      av.s = strvec_text(task.argv);
      ev.s = strvec_text(o_.keep_env ? task.envp : redacted_env(task.envp));
      a.push_back(av);
      a.push_back(ev);
      if (nr == nr_execveat) num(r.r8);
      memory = ret == 0;  // a failed execve leaves the old image
      break;
    }
    case nr_setrlimit:
    case nr_prlimit64: {
      // New limits for the tracee itself, or another traced process, become @rlimit lines.
      if (ret != 0) return;
      const bool self = nr == nr_setrlimit || r.rdi == 0 || static_cast<pid_t>(r.rdi) == task.tgid;
      const uint64_t res = nr == nr_setrlimit ? r.rdi : r.rsi;
      const uint64_t ptr = nr == nr_setrlimit ? r.rsi : r.rdx;
      // prlimit64 on another traced process: the line is that process's.
      const pid_t target = self ? t : static_cast<pid_t>(r.rdi);
      if (!ptr || (!self && !tasks_.count(target))) return;
      uint64_t lim[2];
      if (!read_mem(t, ptr, lim, sizeof lim)) return;
      static const char *names[] = {
          "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
          "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
          "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
          "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
      if (res >= 16) return;
      auto v = [](uint64_t x) { return x == ~0ull ? std::string("RLIM_INFINITY") : fmt_dec(x); };
      line(target, std::string("@rlimit ") + names[res] + " " + v(lim[0]) + " " + v(lim[1]));
      return;
    }
    case nr_pipe:
    case nr_pipe2:
    case nr_socketpair: {
      if (ret != 0) return;
      int fds[2];
      const uint64_t ptr = nr == nr_socketpair ? r.r10 : r.rdi;
      if (!read_mem(t, ptr, fds, sizeof fds)) return;
      line(t, fd_line(t, fds[0]));
      line(t, fd_line(t, fds[1]));
      return;
    }
    case nr_recvmsg:
      // Descriptors passed over a Unix socket (SCM_RIGHTS) arrive as new descriptors.
      if (ret >= 0)
        for (int fd : HostFiles::received_fds(t, r.rsi)) line(t, fd_line(t, fd));
      return;
    case nr_ioctl:
      // TIOCGPTPEER opens the other side of a pseudo-terminal: a descriptor.
      if (r.rsi == 0x5441 && ret >= 0) line(t, fd_line(t, ret));
      // FIOCLEX, FIONCLEX set and clear close-on-exec, as fcntl(F_SETFD) does.
      if ((r.rsi == 0x5451 || r.rsi == 0x5450) && ret == 0) {
        name = "fcntl", num(r.rdi), num(2), num(r.rsi == 0x5451 ? 1 : 0);
        break;
      }
      return;
    case nr_shmat:
    case nr_shmdt:
    case nr_io_uring_setup:
    case nr_remap_file_pages:
    case nr_pkey_mprotect:
    case nr_memfd_secret:
      line(t, "# unsupported: system call " + std::to_string(nr) + " = " + fmt_sdec(ret) +
                  " changes the address space in a way vmspace does not model");
      unsupported_++;
      if (ret >= 0 && (nr == nr_memfd_secret || nr == nr_io_uring_setup)) line(t, fd_line(t, ret));
      return;
    default:
      if (const char *ns = changes_namespace(nr); ns && ret >= 0) {
        // Paths may mean something else from here on (a mount, another root, another
        // namespace): the replay says so rather than diverging later without a reason.
        line(t, std::string("# unsupported: ") + ns + " = " + fmt_sdec(ret) +
                    ": vmspace does not model mounts, chroot or namespaces");
        unsupported_++;
        if (nr == nr_open_tree || nr == nr_fsmount) line(t, fd_line(t, ret));
        return;
      }
      if (makes_unmodelled_fd(nr) && ret >= 0) line(t, fd_line(t, ret));
      return;
  }
  if (!name) return;
  if (!task.strings_ok) {
    line(t, std::string("# unsupported: ") + name + " with an unreadable string argument");
    unsupported_++;
    return;
  }
  const CallDef *def = find_call(name);
  if (!def) return;
  if (ret >= 0 && (nr == nr_open || nr == nr_creat || nr == nr_openat))
    files_.opened(t, task.path,
                  nr == nr_openat ? r.rdx
                  : nr == nr_open ? r.rsi
                                  : 0,
                  nr == nr_openat ? static_cast<long>(static_cast<int32_t>(r.rdi)) : -100,
                  static_cast<int>(ret));
  if (ret < 0 && !task.path_fault && (nr == nr_open || nr == nr_creat || nr == nr_openat))
    // A name that exists but could not be opened (EEXIST, EISDIR, ELOOP, ...): its stand-in
    // makes the replay fail the same way.
    files_.named(t, task.path, nr == nr_openat ? static_cast<int32_t>(r.rdi) : -100,
                 static_cast<int>(-ret));
  if (ret == 0 && nr == nr_execve) files_.executed(t, task.path);
  if (ret == 0 && nr == nr_execveat) files_.executed(t, task.path2);
  if (ret == 0 && (nr == nr_unlink || nr == nr_rmdir || nr == nr_unlinkat || nr == nr_rename ||
                   nr == nr_renameat || nr == nr_renameat2)) {
    // The names now stand for nothing, or for another file: a later open records anew.
    // (Relative names are keyed by their absolute form; see record_file.)
    files_.forget_names();
  }
  CallOutcome out;
  if (ret < 0 && ret > -4096) {
    out.ok = false;
    out.err = static_cast<Errno>(-ret);
  } else {
    out.value = static_cast<uint64_t>(ret);
  }
  std::string text = format_call(*def, a);
  if (text.size() < 39) text.append(39 - text.size(), ' ');
  line(t, text + " = " + format_result(*def, out));
  calls_++;
  const bool exec = (nr == nr_execve || nr == nr_execveat) && ret == 0;
  if (exec) exec_pending_ = false;
  if (tracked(nr) || exec) snapshot(t, task, exec ? nr_execve : nr, ret);
  if (memory && o_.checkpoints_each) checkpoint(t, task);
  if (exec) credentials(t, task);  // execve recomputes capabilities (a root program regains them)
}

}  // namespace vmspace::rec
