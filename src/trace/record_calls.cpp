// The system calls a recording tells apart. See record_calls.hpp.
#include "trace/record_calls.hpp"

#include <sys/stat.h>

#include <string>

#include "trace/tracee.hpp"

namespace vmspace::rec {

// Calls that change or read the address space: one thread of a process at a time, so that
// the trace has them in the order the kernel ran them (waitpid reports the stops of several
// threads in no particular order).
bool mm_call(long nr) {
  switch (nr) {
    case nr_mmap:
    case nr_munmap:
    case nr_mprotect:
    case nr_mremap:
    case nr_brk:
    case nr_madvise:
    case nr_mlock:
    case nr_mlock2:
    case nr_munlock:
    case nr_mlockall:
    case nr_munlockall:
    case nr_msync:
    case nr_mincore:
    case nr_mseal:
      return true;
    default:
      return false;
  }
}

// Calls that make or drop descriptors: threads share one table, and which number a call
// gets depends on the order the kernel ran them in, so they enter one at a time as well.
// Calls that can block for long (accept, opening a FIFO) are left out: a thread held behind
// one could be the one it waits for.
bool fd_call(long nr, pid_t t, const user_regs_struct &r) {
  switch (nr) {
    case nr_open:
    case nr_creat:
    case nr_openat: {
      std::string path;
      const uint64_t at = nr == nr_openat ? r.rsi : r.rdi;
      if (!read_string(t, at, &path) || path.empty()) return false;
      if (path[0] != '/') {
        const long dirfd = nr == nr_openat ? static_cast<int32_t>(r.rdi) : -100;
        path = "/proc/" + std::to_string(t) +
               (dirfd == -100 ? "/cwd/" : "/fd/" + std::to_string(dirfd) + "/") + path;
      }
      struct stat st;
      return ::stat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode);
    }
    case nr_close:
    case nr_close_range:
    case nr_dup:
    case nr_dup2:
    case nr_dup3:
    case nr_fcntl:
    case nr_pipe:
    case nr_pipe2:
    case nr_socketpair:
    case nr_memfd_create:
      return true;
    case nr_accept:
    case nr_accept4:
      return false;  // waits for a peer
    default:
      return makes_unmodelled_fd(nr);
  }
}

bool makes_unmodelled_fd(long nr) {
  switch (nr) {
    case nr_socket:
    case nr_accept:
    case nr_accept4:
    case nr_eventfd:
    case nr_eventfd2:
    case nr_epoll_create:
    case nr_epoll_create1:
    case nr_timerfd_create:
    case nr_signalfd:
    case nr_signalfd4:
    case nr_inotify_init:
    case nr_inotify_init1:
    case nr_pidfd_open:
    case nr_pidfd_getfd:
    case nr_userfaultfd:
    case nr_openat2:
      return true;
    default:
      return false;
  }
}

// Calls that make, remove or rename names.
bool name_call(long nr) {
  return nr == nr_unlink || nr == nr_unlinkat || nr == nr_rmdir || nr == nr_link ||
         nr == nr_linkat || nr == nr_rename || nr == nr_renameat || nr == nr_renameat2;
}

// A fork copies the descriptor table as it is at that moment: it takes the files lock,
// so that other threads' descriptor calls fall before or after it as on the kernel. (Not
// vfork: its parent stays in the call until the child has run, and could hold the child.)
bool copies_files(long nr, pid_t t, const user_regs_struct &r) {
  uint64_t flags = 0;
  if (nr == nr_fork) return true;
  if (nr == nr_clone)
    flags = r.rdi;
  else if (nr == nr_clone3) {
    if (!read_mem(t, r.rdi, &flags, sizeof flags)) return false;
  } else {
    return false;
  }
  return !(flags & (kCloneVm | kCloneVfork | 0x400 /* CLONE_FILES */));
}

// Calls before which writes since the last call are looked for (@touch lines).
bool tracked(long nr) {
  return mm_call(nr) || nr == nr_fork || nr == nr_vfork || nr == nr_clone || nr == nr_clone3 ||
         nr == nr_exit_group;
}

const char *changes_namespace(long nr) {
  switch (nr) {
    case nr_mount:
      return "mount";
    case nr_umount2:
      return "umount2";
    case nr_pivot_root:
      return "pivot_root";
    case nr_chroot:
      return "chroot";
    case nr_unshare:
      return "unshare";
    case nr_setns:
      return "setns";
    case nr_open_tree:
      return "open_tree";
    case nr_move_mount:
      return "move_mount";
    case nr_fsmount:
      return "fsmount";
    case nr_mount_setattr:
      return "mount_setattr";
    default:
      return nullptr;
  }
}

bool changes_credentials(long nr) {
  switch (nr) {
    case nr_setuid:
    case nr_setgid:
    case nr_setreuid:
    case nr_setregid:
    case nr_setgroups:
    case nr_setresuid:
    case nr_setresgid:
    case nr_setfsuid:
    case nr_setfsgid:
    case nr_capset:
    case nr_execve:
    case nr_execveat:
      return true;
    default:
      return false;
  }
}

std::string modelled_sysctl(const std::string &abs_path) {
  const std::string dir = "/proc/sys/vm/";
  if (abs_path.compare(0, dir.size(), dir) != 0) return "";
  const std::string name = abs_path.substr(dir.size());
  for (const ModelledSysctl &m : kModelledSysctls)
    if (name == m.name) return name;
  return "";
}

}  // namespace vmspace::rec
