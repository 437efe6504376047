// The system calls a recording tells apart: x86-64 numbers, and which calls enter one at a
// time (see Recorder::syscall_stop in recorder.cpp).
#pragma once

#include "vmspace/abi.hpp"

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>

namespace vmspace::rec {

// x86-64 system call numbers.
enum : long {
  nr_open = 2,
  nr_close = 3,
  nr_mmap = 9,
  nr_mprotect = 10,
  nr_munmap = 11,
  nr_brk = 12,
  nr_pipe = 22,
  nr_mremap = 25,
  nr_msync = 26,
  nr_mincore = 27,
  nr_madvise = 28,
  nr_shmat = 30,
  nr_dup = 32,
  nr_dup2 = 33,
  nr_socket = 41,
  nr_accept = 43,
  nr_socketpair = 53,
  nr_clone = 56,
  nr_fork = 57,
  nr_vfork = 58,
  nr_execve = 59,
  nr_shmdt = 67,
  nr_fcntl = 72,
  nr_ftruncate = 77,
  nr_creat = 85,
  nr_mlock = 149,
  nr_munlock = 150,
  nr_mlockall = 151,
  nr_munlockall = 152,
  nr_prctl = 157,
  nr_setrlimit = 160,
  nr_remap_file_pages = 216,
  nr_epoll_create = 213,
  nr_exit_group = 231,
  nr_openat = 257,
  nr_unlink = 87,
  nr_rmdir = 84,
  nr_ioctl = 16,
  nr_recvmsg = 47,
  nr_unlinkat = 263,
  nr_link = 86,
  nr_linkat = 265,
  nr_rename = 82,
  nr_renameat = 264,
  nr_renameat2 = 316,
  nr_signalfd = 282,
  nr_timerfd_create = 283,
  nr_eventfd = 284,
  nr_accept4 = 288,
  nr_signalfd4 = 289,
  nr_eventfd2 = 290,
  nr_epoll_create1 = 291,
  nr_dup3 = 292,
  nr_pipe2 = 293,
  nr_inotify_init1 = 294,
  nr_inotify_init = 253,
  nr_prlimit64 = 302,
  nr_memfd_create = 319,
  nr_userfaultfd = 323,
  nr_execveat = 322,
  nr_pkey_mprotect = 329,
  nr_mlock2 = 325,
  nr_io_uring_setup = 425,
  nr_pidfd_open = 434,
  nr_clone3 = 435,
  nr_openat2 = 437,
  nr_pidfd_getfd = 438,
  nr_memfd_secret = 447,
  nr_mseal = 462,
  nr_close_range = 436,
  nr_pivot_root = 155,
  nr_chroot = 161,
  nr_mount = 165,
  nr_umount2 = 166,
  nr_unshare = 272,
  nr_setns = 308,
  nr_open_tree = 428,
  nr_move_mount = 429,
  nr_fsmount = 432,
  nr_mount_setattr = 442,
  nr_setuid = 105,
  nr_setgid = 106,
  nr_setreuid = 113,
  nr_setregid = 114,
  nr_setgroups = 116,
  nr_setresuid = 117,
  nr_setresgid = 119,
  nr_setfsuid = 122,
  nr_setfsgid = 123,
  nr_capset = 126,
  nr_write = 1,
  nr_pwrite64 = 18,
  nr_writev = 20,
};

constexpr uint64_t kPrSetVma = lx::pr_set_vma;
constexpr uint64_t kCloneVm = lx::clone_vm, kCloneVfork = lx::clone_vfork,
                   kCloneThread = lx::clone_thread;

// Calls that change or read the address space: one thread of a process at a time.
bool mm_call(long nr);
// Calls that make or drop descriptors (not those that can block for long: accept, opening a
// FIFO); `t` is the task at the call's entry, `r` its registers.
bool fd_call(long nr, pid_t t, const user_regs_struct &r);
// Calls that return one new descriptor vmspace does not model (a socket, an eventfd, ...):
// the trace gets "@fd N" for it.
bool makes_unmodelled_fd(long nr);
// Calls that make, remove or rename names.
bool name_call(long nr);
// A fork (not vfork, not a thread): it copies the descriptor table.
bool copies_files(long nr, pid_t t, const user_regs_struct &r);
// Calls that change what paths mean (mounts, the root, namespaces), which vmspace does not
// model: the name recorded in an unsupported marker when they succeed, else null.
const char *changes_namespace(long nr);
// The vm sysctls vmspace models (the names under /proc/sys/vm/), and Linux's defaults of them.
struct ModelledSysctl {
  const char *name;
  const char *linux_default;
};
inline constexpr ModelledSysctl kModelledSysctls[] = {
    {"max_map_count", "65530"}, {"mmap_min_addr", "65536"}, {"overcommit_memory", "0"},
    {"overcommit_ratio", "50"}, {"overcommit_kbytes", "0"}, {"nr_hugepages", "0"},
    {"legacy_va_layout", "0"}};
// The sysctl a path names ("max_map_count" for /proc/sys/vm/max_map_count), or "" when it is
// not one vmspace models.
std::string modelled_sysctl(const std::string &abs_path);
// Calls that may change a task's effective uid or capabilities.
bool changes_credentials(long nr);
// Calls before which writes since the last call are looked for (@touch lines).
bool tracked(long nr);

constexpr pid_t kFilesLock = 0;  // the lock of descriptor and name calls (no process has pid 0)

}  // namespace vmspace::rec
