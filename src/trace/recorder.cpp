// The recorder. See recorder.hpp.
#include "trace/recorder.hpp"

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
#include "trace/x86_operand.hpp"

namespace vmspace::rec {

namespace {
// /proc/TID/status: "Uid:\treal\teffective\tsaved\tfs" and "CapEff:\t<hex>".
bool read_credentials(pid_t t, uint32_t *euid, uint64_t *caps) {
  std::istringstream in(slurp("/proc/" + std::to_string(t) + "/status"));
  std::string l;
  bool uid = false, cap = false;
  while (std::getline(in, l)) {
    if (l.compare(0, 4, "Uid:") == 0) {
      std::istringstream f(l.substr(4));
      uint32_t real = 0;
      uid = static_cast<bool>(f >> real >> *euid);
    } else if (l.compare(0, 7, "CapEff:") == 0) {
      *caps = std::strtoull(l.c_str() + 7, nullptr, 16);
      cap = true;
    }
  }
  return uid && cap;
}

}  // namespace

RecordResult Recorder::run() {
  RecordResult r;
  std::vector<char *> argv;  // made before fork: the child allocates nothing
  for (const std::string &a : o_.argv) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    ::personality(ADDR_NO_RANDOMIZE);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "vmspace record: %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int st = 0;
  pid_t w;
  while ((w = ::waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }  // a stop signal now is seen by the loop below, which kills the program
  if (w != pid || !WIFSTOPPED(st)) {
    r.error = "the program did not start under ptrace";
    return r;
  }
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
           PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
               PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
  leader_ = pid;
  if (o_.leader) *o_.leader = pid;
  tasks_[pid].tgid = pid;
  header(pid);
  {
    uint32_t euid = 0;
    uint64_t caps = 0;
    if (read_credentials(pid, &euid, &caps)) creds_[pid] = {euid, caps};
  }
  ::ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr);
  int exit_status = 0;
  int stopped_by = 0;
  auto stop_requested = [&] {
    if (!o_.stop || !*o_.stop || stopped_by) return;
    // Recording ends here: every traced task dies; their deaths are the last events.
    stopped_by = *o_.stop;
    for (const auto &[task, info] : tasks_) ::kill(task, SIGKILL);
    for (pid_t task : early_) ::kill(task, SIGKILL);
  };
  while (!tasks_.empty()) {
    stop_requested();
    pid_t t = next_stop(&st);
    // Again: the handler kills the program before the wait returns its stop (a call the kill
    // interrupted reports an exit of -ENOSYS, which must not reach the trace).
    stop_requested();
    if (t < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (t == leader_) exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      auto it = tasks_.find(t);
      const pid_t mm = it != tasks_.end() && it->second.tgid ? it->second.tgid : t;
      tasks_.erase(t);
      if (busy_[mm] == t) release(mm);
      if (busy_[kFilesLock] == t) release(kFilesLock);
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    if (stopped_by) {
      // Dying: a call interrupted by the kill still reports its exit (-ENOSYS); nothing more
      // goes into the trace, and a task that appeared meanwhile dies too.
      ::kill(t, SIGKILL);
      ::ptrace(PTRACE_CONT, t, nullptr, nullptr);
      continue;
    }
    if (!tasks_.count(t)) {
      // A new child can stop before its parent's fork event is seen: it waits (stopped)
      // until then, so that the fork comes first in the trace.
      early_.insert(t);
      continue;
    }
    Task &task = tasks_[t];
    if (!task.tgid) task.tgid = tgid_of(t);
    const int sig = WSTOPSIG(st);
    const int event = st >> 16;
    int inject = 0;
    if (sig == (SIGTRAP | 0x80)) {
      if (!syscall_stop(t, task)) continue;  // held until another thread's call is done
    } else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
               event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      ::ptrace(PTRACE_GETEVENTMSG, t, nullptr, &child);
      new_task(t, task, static_cast<pid_t>(child), event);
    } else if (event == PTRACE_EVENT_EXEC) {
      // The exec'ing thread now has the leader's id; its syscall-exit stop follows.
    } else if (event == PTRACE_EVENT_STOP || (sig == SIGSTOP && fresh_.count(t))) {
      fresh_.erase(t);
    } else if (event == 0) {
      inject = sig;
      if (sig == SIGSEGV || sig == SIGBUS) fault(t, task, sig);
    }
    ::ptrace(PTRACE_SYSCALL, t, nullptr, reinterpret_cast<void *>(static_cast<long>(inject)));
  }
  if (stopped_by) {
    const char *name = sigabbrev_np(stopped_by);
    std::fprintf(o_.out, "# truncated: %s%s\n", name ? "SIG" : "",
                 name ? name : std::to_string(stopped_by).c_str());
    r.truncated_by = stopped_by;
  }
  r.exit_status = exit_status;
  r.executed = !exec_pending_;
  r.calls = calls_;
  r.checkpoints = checkpoints_;
  r.unsupported = unsupported_;
  return r;
}

pid_t Recorder::tgid_of(pid_t t) {
  std::istringstream in(slurp("/proc/" + std::to_string(t) + "/status"));
  std::string l;
  while (std::getline(in, l))
    if (l.compare(0, 5, "Tgid:") == 0) return static_cast<pid_t>(std::atoi(l.c_str() + 5));
  return t;
}

void Recorder::header(pid_t pid) {
  std::fprintf(o_.out, "# vmspace record: ");
  for (const std::string &a : o_.argv) std::fprintf(o_.out, "%s ", fmt_string(a).c_str());
  std::fprintf(o_.out, "\n# checkpoints: %s\n", o_.checkpoints_each ? "each" : "end");
  // The limits that shape the address space.
  static const std::pair<int, const char *> limits[] = {
      {RLIMIT_STACK, "RLIMIT_STACK"},   {RLIMIT_AS, "RLIMIT_AS"},
      {RLIMIT_DATA, "RLIMIT_DATA"},     {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
      {RLIMIT_NOFILE, "RLIMIT_NOFILE"}, {RLIMIT_FSIZE, "RLIMIT_FSIZE"}};
  for (const auto &[res, name] : limits) {
    struct rlimit rl;
    if (::prlimit(pid, static_cast<__rlimit_resource>(res), nullptr, &rl) != 0) continue;
    auto v = [](rlim_t x) {
      return x == RLIM_INFINITY ? std::string("RLIM_INFINITY") : fmt_dec(x);
    };
    std::fprintf(o_.out, "%d @rlimit %s %s %s\n", static_cast<int>(pid), name,
                 v(rl.rlim_cur).c_str(), v(rl.rlim_max).c_str());
  }
  if (::geteuid() != 0) std::fprintf(o_.out, "%d @root off\n", static_cast<int>(pid));
  // The vm sysctls of this machine that are not Linux's defaults (a replay starts with those).
  for (const ModelledSysctl &m : kModelledSysctls) {
    std::string v = slurp(std::string("/proc/sys/vm/") + m.name);
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    if (!v.empty() && v != m.linux_default &&
        v.find_first_not_of("0123456789") == std::string::npos)
      std::fprintf(o_.out, "@sysctl vm.%s %s\n", m.name, v.c_str());
  }
  // Descriptors the program inherits beyond 0-2 would be placeholders.
  for (int fd = 3; fd < 1024; fd++)
    if (::fcntl(fd, F_GETFD) >= 0 && !(::fcntl(fd, F_GETFD) & FD_CLOEXEC))
      std::fprintf(o_.out, "%d @fd %d\n", static_cast<int>(pid), fd);
}

void Recorder::line(pid_t t, const std::string &text) {
  std::fprintf(o_.out, "%d %s\n", static_cast<int>(t), text.c_str());
}

void Recorder::new_task(pid_t parent, Task &pt, pid_t child, int event) {
  Task &c = tasks_[child];
  const bool stopped_already = early_.erase(child) > 0;
  if (!stopped_already) fresh_.insert(child);  // its first stop (SIGSTOP) is still to come
  const long nr = static_cast<long>(pt.entry.orig_rax);
  uint64_t flags = 0;
  if (event == PTRACE_EVENT_FORK) flags = SIGCHLD;
  if (event == PTRACE_EVENT_VFORK) flags = kCloneVm | kCloneVfork | SIGCHLD;
  if (nr == nr_clone) flags = pt.entry.rdi;
  if (nr == nr_clone3) {
    uint64_t cl[5] = {};
    if (read_mem(parent, pt.entry.rdi, cl, sizeof cl)) flags = cl[0] | (cl[4] & 0xff);
  }
  c.tgid = (flags & kCloneThread) ? pt.tgid : child;
  // A child starts with its parent's address space (fork copies, vfork shares).
  if (c.tgid == child) snapshots_[child] = snapshots_[pt.tgid ? pt.tgid : parent];
  if (c.tgid == child) creds_[child] = creds_[pt.tgid ? pt.tgid : parent];
  if (c.tgid == child) sysctl_fds_[child] = sysctl_fds_[pt.tgid ? pt.tgid : parent];
  std::string call;
  if (nr == nr_fork) {
    call = "fork()";
  } else if (nr == nr_vfork) {
    call = "vfork()";
  } else {
    std::vector<ArgVal> a(1);
    a[0].v = flags;
    call = format_call(*find_call("clone"), a);
  }
  // The child may run before the parent's syscall-exit stop: the call is written now.
  line(parent, call + " = " + std::to_string(child));
  pt.announced = true;
  calls_++;
  if (stopped_already) ::ptrace(PTRACE_SYSCALL, child, nullptr, nullptr);
}

// False when the task is held at the entry of its call (another thread of its process is
// inside one); it is resumed when that call is done.
bool Recorder::syscall_stop(pid_t t, Task &task) {
  user_regs_struct regs;
  ::ptrace(PTRACE_GETREGS, t, nullptr, &regs);
  const pid_t mm = task.tgid ? task.tgid : t;
  // A 32-bit program (code segment 0x23) makes i386 system calls, numbered differently:
  // vmspace models the x86-64 ABI only, so they are not recorded.
  constexpr uint64_t kCompatCs = 0x23;
  if (regs.cs == kCompatCs) {
    if (task.in_syscall && task.entry.cs != kCompatCs &&
        (static_cast<long>(task.entry.orig_rax) == nr_execve ||
         static_cast<long>(task.entry.orig_rax) == nr_execveat)) {
      // The execve that started it succeeded on the kernel; vmspace cannot load it.
      line(t, "# unsupported: execve of the 32-bit program " + fmt_string(task.path) +
                  " (vmspace models the x86-64 system call ABI only)");
      unsupported_++;
      exec_pending_ = false;
    }
    task.entry = regs;
    task.in_syscall = !task.in_syscall;
    return true;
  }
  if (!task.in_syscall) {
    task.in_syscall = true;
    task.entry = regs;
    task.announced = false;
    const long nr = static_cast<long>(regs.orig_rax);
    // exit_group too: the other threads' calls under way finish before it, as on the kernel.
    // Calls on descriptors and names take one lock for all processes: processes share
    // files, and a name one removes another may make again.
    task.serialized = mm_call(nr) || nr == nr_exit_group;
    task.lock = mm;
    if (!task.serialized && (fd_call(nr, t, regs) || name_call(nr) || copies_files(nr, t, regs))) {
      task.serialized = true;
      task.lock = kFilesLock;
    }
    if (task.serialized) {
      pid_t &owner = busy_[task.lock];
      if (owner && owner != t && tasks_.count(owner)) {
        held_[task.lock].push_back(t);
        return false;
      }
      owner = t;
      since_[task.lock] = std::chrono::steady_clock::now();
    }
    entry(t, task);
    return true;
  }
  task.in_syscall = false;
  exit(t, task, static_cast<int64_t>(regs.rax));
  if (task.serialized && busy_[task.lock] == t) release(task.lock);
  return true;
}

// The next held thread of the process enters its call.
// The next stopped or ended task. While tasks wait behind a lock, a holder that stays in
// its call for long (blocked: a socket lingering on close, a device) lets them go, so that
// no held task is the one it waits for.
pid_t Recorder::next_stop(int *st) {
  for (;;) {
    bool waiting = false;
    for (const auto &[lock, q] : held_) waiting = waiting || !q.empty();
    const pid_t t = ::waitpid(-1, st, __WALL | (waiting ? WNOHANG : 0));
    if (t != 0) return t;
    const auto now = std::chrono::steady_clock::now();
    for (auto &[lock, q] : held_)
      if (!q.empty() && now - since_[lock] > std::chrono::milliseconds(50)) release(lock);
    struct timespec pause = {0, 200000};
    ::nanosleep(&pause, nullptr);
  }
}

void Recorder::release(pid_t mm) {
  busy_[mm] = 0;
  std::vector<pid_t> &q = held_[mm];
  while (!q.empty()) {
    pid_t next = q.front();
    q.erase(q.begin());
    auto it = tasks_.find(next);
    if (it == tasks_.end()) continue;
    busy_[mm] = next;
    since_[mm] = std::chrono::steady_clock::now();
    entry(next, it->second);
    ::ptrace(PTRACE_SYSCALL, next, nullptr, nullptr);
    return;
  }
}

// Pages the program wrote since the last call (faults, not system calls) gave VMAs
// anonymous memory, which decides later merges: written as @touch lines, one per VMA that
// gained its first anonymous page (at its start, which also grows a stack down to it).
void Recorder::touches(pid_t t, const Task &task) {
  const pid_t pid = task.tgid ? task.tgid : t;
  // Without a page fault since the last look nothing gained anonymous memory: the fault
  // counters (/proc/PID/stat) are far cheaper to read than smaps.
  const uint64_t faults = fault_count(pid);
  if (faults && faults == faults_[pid]) return;
  std::vector<VmaAnon> now = anon_snapshot(pid);
  std::vector<VmaAnon> &before = snapshots_[pid];
  size_t j = 0;
  for (const VmaAnon &v : now) {
    if (!v.anon || v.start >= 0xffffffffff600000ull) continue;
    while (j < before.size() && before[j].end <= v.start) j++;
    bool known = false, grew = false;
    for (size_t k = j; k < before.size() && before[k].start < v.end; k++) {
      if (before[k].anon) known = true;
      if (before[k].anon && v.growsdown && v.start < before[k].start) grew = true;
    }
    if (!known || grew) {
      line(t, "@touch " + fmt_hex(v.start) + " 1 write");
      touches_++;
    }
  }
  before = std::move(now);
}

// The VMAs after a call, with which of them have anonymous memory (see touches()).
void Recorder::snapshot(pid_t t, const Task &task, long nr, int64_t ret) {
  const pid_t pid = task.tgid ? task.tgid : t;
  // The counter first: a fault after it is seen by the next look.
  const uint64_t faults = fault_count(pid);
  const bool moved_pages = nr == nr_mremap || nr == nr_fork || nr == nr_vfork || nr == nr_clone ||
                           nr == nr_clone3 || !mm_call(nr);
  if (!faults || faults != faults_[pid] || moved_pages) {
    snapshots_[pid] = anon_snapshot(pid);
    faults_[pid] = faults;
    return;
  }
  // No page came in during the call (populating ones fault): only VMA boundaries moved.
  // /proc/PID/maps, without smaps' page table walk, gives them; anonymous memory carries
  // over from the VMAs that were there, except where a new mapping replaced them.
  std::vector<VmaAnon> before = std::move(snapshots_[pid]);
  if (nr == nr_mmap && ret > 0 && static_cast<uint64_t>(ret) < (1ull << 47)) {
    const uint64_t lo = static_cast<uint64_t>(ret);
    const uint64_t hi = lo + ((task.entry.rsi + 4095) & ~4095ull);
    std::vector<VmaAnon> cut;
    for (const VmaAnon &b : before) {
      if (b.end <= lo || b.start >= hi) {
        cut.push_back(b);
        continue;
      }
      if (b.start < lo) cut.push_back({b.start, lo, b.anon, b.growsdown});
      if (b.end > hi) cut.push_back({hi, b.end, b.anon, b.growsdown});
    }
    before = std::move(cut);
  }
  std::vector<VmaAnon> now = maps_ranges(pid);
  size_t j = 0;
  for (VmaAnon &v : now) {
    while (j < before.size() && before[j].end <= v.start) j++;
    for (size_t k = j; k < before.size() && before[k].start < v.end; k++) {
      v.anon = v.anon || before[k].anon;
      v.growsdown = v.growsdown || before[k].growsdown;
    }
  }
  snapshots_[pid] = std::move(now);
}

// A relative path made absolute with the program's working directory: the replay runs in
// a sandbox directory of its own.
void Recorder::entry(pid_t t, Task &task) {
  const user_regs_struct &r = task.entry;
  const long nr = static_cast<long>(r.orig_rax);
  task.strings_ok = true;
  task.path_fault = task.path2_fault = false;
  // A path argument: its string, or (when not even its first byte can be read: EFAULT) its
  // address. False when it cannot be recorded either way.
  auto path_at = [&](uint64_t ptr, bool second) {
    std::string &out = second ? task.path2 : task.path;
    if (read_string(t, ptr, &out)) return true;
    uint8_t byte;
    if (read_mem(t, ptr, &byte, 1)) return false;
    (second ? task.path2_fault : task.path_fault) = true;
    (second ? task.path2_addr : task.path_addr) = ptr;
    out.clear();
    return true;
  };
  if (tracked(nr) && !exec_pending_) touches(t, task);
  if (nr == nr_mmap && !(r.r10 & 0x20) && static_cast<int32_t>(r.r8) >= 0)
    files_.before_mmap(t, r.r8);
  switch (nr) {
    case nr_open:
    case nr_creat:
      task.strings_ok = path_at(r.rdi, false);
      if (!task.path_fault) HostFiles::absolutize(t, &task.path);
      break;
    case nr_memfd_create:
      task.strings_ok = path_at(r.rdi, false);
      break;
    case nr_unlink:
    case nr_rmdir:
      task.strings_ok = path_at(r.rdi, false);
      if (!task.path_fault) HostFiles::absolutize(t, &task.path);
      if (!task.path_fault) files_.named(t, task.path, -100);
      break;
    case nr_unlinkat:
      task.strings_ok = path_at(r.rsi, false);
      if (static_cast<int32_t>(r.rdi) == -100 && !task.path_fault)
        HostFiles::absolutize(t, &task.path);  // AT_FDCWD
      if (!task.path_fault) files_.named(t, task.path, static_cast<int32_t>(r.rdi));
      break;
    case nr_link:
    case nr_rename:
      task.strings_ok = path_at(r.rdi, false) && path_at(r.rsi, true);
      if (!task.path_fault) HostFiles::absolutize(t, &task.path);
      if (!task.path2_fault) HostFiles::absolutize(t, &task.path2);
      if (!task.path_fault) files_.named(t, task.path, -100);
      if (nr == nr_rename && !task.path2_fault)
        files_.named(t, task.path2, -100);  // a file it replaces
      break;
    case nr_linkat:
    case nr_renameat:
    case nr_renameat2:
      task.strings_ok = path_at(r.rsi, false) && path_at(r.r10, true);
      if (static_cast<int32_t>(r.rdi) == -100 && !task.path_fault)
        HostFiles::absolutize(t, &task.path);
      if (static_cast<int32_t>(r.rdx) == -100 && !task.path2_fault)
        HostFiles::absolutize(t, &task.path2);
      if (!task.path_fault) files_.named(t, task.path, static_cast<int32_t>(r.rdi));
      if (nr != nr_linkat && !task.path2_fault)
        files_.named(t, task.path2, static_cast<int32_t>(r.rdx));
      break;
    case nr_openat:
      task.strings_ok = path_at(r.rsi, false);
      if (static_cast<int32_t>(r.rdi) == -100 && !task.path_fault)
        HostFiles::absolutize(t, &task.path);  // AT_FDCWD
      break;
    case nr_prctl:
      if (r.rdi == kPrSetVma && r.r8) task.strings_ok = read_string(t, r.r8, &task.path);
      break;
    case nr_execve:
      task.strings_ok = read_string(t, r.rdi, &task.path) && read_strvec(t, r.rsi, &task.argv) &&
                        read_strvec(t, r.rdx, &task.envp);
      // The kernel copies the path as given onto the new stack: a relative one stays
      // relative (its length counts), so it is kept; vmspace resolves it in the sandbox.
      break;
    case nr_execveat: {
      task.strings_ok = read_string(t, r.rsi, &task.path) && read_strvec(t, r.rdx, &task.argv) &&
                        read_strvec(t, r.r10, &task.envp);
      // The file, found now: a close-on-exec descriptor is gone when the call returns.
      const long dfd = static_cast<int32_t>(r.rdi);
      task.path2 = task.path;
      if (dfd != -100 && (task.path.empty() || task.path[0] != '/'))
        HostFiles::under_dirfd(t, dfd, &task.path2);
      break;
    }
    case nr_exit_group:
      if (exec_pending_) break;  // the program never started
      if (!o_.checkpoints_each) final_checkpoint(t, task);
      line(t, "exit_group(" + fmt_sdec(static_cast<int32_t>(r.rdi)) + ") = ?");
      calls_++;
      break;
    default:
      break;
  }
}

// A fault signal the kernel raised: replayed as a touch of the faulting address that must
// raise the same signal with the same si_code. An instruction fetch faults at the
// instruction pointer; a load or store is what the VMA's protection says it must have been.
void Recorder::fault(pid_t t, Task &task, int sig) {
  siginfo_t si{};
  ::ptrace(PTRACE_GETSIGINFO, t, nullptr, &si);
  const uint64_t addr = reinterpret_cast<uint64_t>(si.si_addr);
  const std::string what =
      std::string(sig == SIGSEGV ? "SIGSEGV" : "SIGBUS") + " " + std::to_string(si.si_code);
  std::string access = "read";
  // An instruction fetch faults at the instruction pointer.
  user_regs_struct regs{};
  const bool fetch = ::ptrace(PTRACE_GETREGS, t, nullptr, &regs) == 0 && regs.rip == addr;
  std::istringstream maps(slurp("/proc/" + std::to_string(task.tgid ? task.tgid : t) + "/maps"));
  std::string l;
  while (std::getline(maps, l)) {
    uint64_t lo = std::strtoull(l.c_str(), nullptr, 16);
    uint64_t hi = std::strtoull(l.c_str() + l.find('-') + 1, nullptr, 16);
    if (addr < lo || addr >= hi) continue;
    const std::string perms = l.substr(l.find(' ') + 1, 4);
    // A read of a readable page cannot raise SEGV_ACCERR; SIGBUS comes from reading pages
    // that cannot be backed.
    if (sig == SIGSEGV && si.si_code == 2 && perms[0] == 'r' && perms[1] != 'w') access = "write";
    if (sig == SIGSEGV && si.si_code == 2 && perms[0] == 'r' && perms[1] == 'w') access = "";
    break;
  }
  if (fetch) access = "exec";
  if (sig == SIGSEGV && si.si_code == lx::si_kernel && !exec_pending_) {
    // A general-protection fault: siginfo has no address. When the instruction's memory
    // operand is non-canonical (or an access starting just below the boundary reaches past
    // it), the touch of its first non-canonical byte replays the fault.
    uint8_t code[15];
    size_t n = sizeof code;
    while (n > 0 && !read_mem(t, regs.rip, code, n)) n--;  // the code may end at a page end
    const MemOperand m = decode_mem_operand(code, n, regs);
    constexpr uint64_t kBoundary = 1ull << 47, kWidest = 64;  // the widest access: AVX-512
    auto first_noncanonical = [&](uint64_t a, uint64_t *out) {
      if (!canonical(a)) return *out = a, true;
      if (a < kBoundary && a >= kBoundary - kWidest) return *out = kBoundary, true;
      return false;
    };
    uint64_t at = 0;
    bool found = false, store = false;
    if (m.ok && first_noncanonical(m.addr, &at)) {
      found = true;
      store = m.store;
    } else if (m.ok && m.addr2 && first_noncanonical(m.addr2, &at)) {
      found = true;
      store = true;  // movs' destination (cmps reads it, but a fault is a fault)
    }
    if (!found) {
      line(t, "# unsupported: " + what + " at rip " + fmt_hex(regs.rip) +
                  " (a general-protection fault that is not a non-canonical access)");
      unsupported_++;
      return;
    }
    touches(t, task);
    line(t, "@touch " + fmt_hex(at) + " 1 " + (store ? "write" : "read") + " " + what);
    return;
  }
  if (si.si_code <= 0 || access.empty() || exec_pending_) {
    line(t, "# --- " + what + " si_addr=" + fmt_hex(addr) + " --- (not replayed)");
    return;
  }
  touches(t, task);
  line(t, "@touch " + fmt_hex(addr) + " 1 " + access + " " + what);
}

void Recorder::credentials(pid_t t, const Task &task) {
  const pid_t pid = task.tgid ? task.tgid : t;
  uint32_t euid = 0;
  uint64_t caps = 0;
  if (!read_credentials(t, &euid, &caps)) return;
  auto it = creds_.find(pid);
  if (it != creds_.end() && it->second == std::make_pair(euid, caps)) return;
  creds_[pid] = {euid, caps};
  line(t, "@cred " + fmt_dec(euid) + " " + fmt_hex(caps));
}

void Recorder::sysctl_written(pid_t t, const std::string &name) {
  std::string v = slurp("/proc/sys/vm/" + name);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return;
  line(t, "@sysctl vm." + name + " " + v);
}

void Recorder::checkpoint(pid_t t, const Task &task) {
  const pid_t pid = task.tgid ? task.tgid : t;
  // While other threads of the process run, the maps could already show their later calls:
  // no checkpoint then (they resume when the process is single-threaded again).
  int threads = 0;
  for (const auto &[tid, other] : tasks_)
    if ((other.tgid ? other.tgid : tid) == pid) threads++;
  if (threads > 1) {
    skipped_++;
    return;
  }
  std::string maps = slurp("/proc/" + std::to_string(pid) + "/maps");
  if (maps.empty()) return;
  std::fprintf(o_.out, "%d @maps {\n%s}\n", static_cast<int>(t), maps.c_str());
  std::fprintf(o_.out, "%d @status {\n%s}\n", static_cast<int>(t), status_lines(pid).c_str());
  checkpoints_++;
}

void Recorder::final_checkpoint(pid_t t, const Task &task) {
  // Written just before exit_group runs (checkpoints=end).
  const pid_t pid = task.tgid ? task.tgid : t;
  std::string maps = slurp("/proc/" + std::to_string(pid) + "/maps");
  if (maps.empty()) return;
  std::fprintf(o_.out, "# the address space at exit_group:\n");
  checkpoint(t, task);
}

}  // namespace vmspace::rec

namespace vmspace {

RecordResult record_program(const RecordOptions &o) {
  rec::Recorder r(o);
  return r.run();
}

// The environment as a trace keeps it: every value replaced by as many 'x' bytes (so the
// initial stack is laid out as on the kernel), except the variables that say nothing secret
// (kHarmlessEnv, and LC_*). A string without '=' is replaced whole.
std::vector<std::string> redacted_env(const std::vector<std::string> &env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const std::string &e : env) {
    const size_t eq = e.find('=');
    const std::string name = eq == std::string::npos ? std::string() : e.substr(0, eq);
    bool keep = name.compare(0, 3, "LC_") == 0;
    for (const char *h : kHarmlessEnv) keep = keep || name == h;
    if (keep) {
      out.push_back(e);
    } else if (eq == std::string::npos) {
      out.emplace_back(e.size(), 'x');
    } else {
      out.push_back(e.substr(0, eq + 1) + std::string(e.size() - eq - 1, 'x'));
    }
  }
  return out;
}

}  // namespace vmspace
