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
#include "trace/symbols.hpp"
#include "trace/tracee.hpp"

namespace vmspace {

namespace {

using namespace rec;  // NOLINT: the recorder's own system call tables

struct Task {
  bool in_syscall = false;
  user_regs_struct entry{};
  std::string path;                     // the path argument, read at entry
  std::string path2;                    // the second (link, rename: the new name)
  std::vector<std::string> argv, envp;  // execve's
  bool strings_ok = true;
  bool announced = false;   // fork/vfork/clone already written at its event
  bool serialized = false;  // the call entered alone (see Recorder::syscall_stop)
  pid_t lock = 0;           // the lock it holds: its process's, or kFilesLock
  pid_t tgid = 0;
};

class Recorder {
 public:
  explicit Recorder(const RecordOptions &o) : o_(o) {}

  RecordResult run() {
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
    if (::waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
      r.error = "the program did not start under ptrace";
      return r;
    }
    ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
             PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
    leader_ = pid;
    tasks_[pid].tgid = pid;
    header(pid);
    ::ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr);
    int exit_status = 0;
    while (!tasks_.empty()) {
      pid_t t = next_stop(&st);
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
    r.exit_status = exit_status;
    r.executed = !exec_pending_;
    r.calls = calls_;
    r.checkpoints = checkpoints_;
    r.unsupported = unsupported_;
    return r;
  }

 private:
  static pid_t tgid_of(pid_t t) {
    std::istringstream in(slurp("/proc/" + std::to_string(t) + "/status"));
    std::string l;
    while (std::getline(in, l))
      if (l.compare(0, 5, "Tgid:") == 0) return static_cast<pid_t>(std::atoi(l.c_str() + 5));
    return t;
  }

  void header(pid_t pid) {
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
    // Descriptors the program inherits beyond 0-2 would be placeholders.
    for (int fd = 3; fd < 1024; fd++)
      if (::fcntl(fd, F_GETFD) >= 0 && !(::fcntl(fd, F_GETFD) & FD_CLOEXEC))
        std::fprintf(o_.out, "%d @fd %d\n", static_cast<int>(pid), fd);
  }

  void line(pid_t t, const std::string &text) {
    std::fprintf(o_.out, "%d %s\n", static_cast<int>(t), text.c_str());
  }

  void new_task(pid_t parent, Task &pt, pid_t child, int event) {
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
  bool syscall_stop(pid_t t, Task &task) {
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
      if (!task.serialized &&
          (fd_call(nr, t, regs) || name_call(nr) || copies_files(nr, t, regs))) {
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
  pid_t next_stop(int *st) {
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

  void release(pid_t mm) {
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
  void touches(pid_t t, const Task &task) {
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
  void snapshot(pid_t t, const Task &task, long nr, int64_t ret) {
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
  void entry(pid_t t, Task &task) {
    const user_regs_struct &r = task.entry;
    const long nr = static_cast<long>(r.orig_rax);
    task.strings_ok = true;
    if (tracked(nr) && !exec_pending_) touches(t, task);
    if (nr == nr_mmap && !(r.r10 & 0x20) && static_cast<int32_t>(r.r8) >= 0)
      files_.before_mmap(t, r.r8);
    switch (nr) {
      case nr_open:
      case nr_creat:
        task.strings_ok = read_string(t, r.rdi, &task.path);
        HostFiles::absolutize(t, &task.path);
        break;
      case nr_memfd_create:
        task.strings_ok = read_string(t, r.rdi, &task.path);
        break;
      case nr_unlink:
      case nr_rmdir:
        task.strings_ok = read_string(t, r.rdi, &task.path);
        HostFiles::absolutize(t, &task.path);
        files_.named(t, task.path, -100);
        break;
      case nr_unlinkat:
        task.strings_ok = read_string(t, r.rsi, &task.path);
        if (static_cast<int32_t>(r.rdi) == -100) HostFiles::absolutize(t, &task.path);  // AT_FDCWD
        files_.named(t, task.path, static_cast<int32_t>(r.rdi));
        break;
      case nr_link:
      case nr_rename:
        task.strings_ok = read_string(t, r.rdi, &task.path) && read_string(t, r.rsi, &task.path2);
        HostFiles::absolutize(t, &task.path);
        HostFiles::absolutize(t, &task.path2);
        files_.named(t, task.path, -100);
        if (nr == nr_rename) files_.named(t, task.path2, -100);  // a file it replaces
        break;
      case nr_linkat:
      case nr_renameat:
      case nr_renameat2:
        task.strings_ok = read_string(t, r.rsi, &task.path) && read_string(t, r.r10, &task.path2);
        if (static_cast<int32_t>(r.rdi) == -100) HostFiles::absolutize(t, &task.path);
        if (static_cast<int32_t>(r.rdx) == -100) HostFiles::absolutize(t, &task.path2);
        files_.named(t, task.path, static_cast<int32_t>(r.rdi));
        if (nr != nr_linkat) files_.named(t, task.path2, static_cast<int32_t>(r.rdx));
        break;
      case nr_openat:
        task.strings_ok = read_string(t, r.rsi, &task.path);
        if (static_cast<int32_t>(r.rdi) == -100) HostFiles::absolutize(t, &task.path);  // AT_FDCWD
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

  // The text of a finished call, or "" when it is not one the trace keeps.
  void exit(pid_t t, Task &task, int64_t ret) {
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
    bool memory = false;  // a checkpoint follows
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
        name = "open", str(task.path), num(r.rsi), num(r.rdx);
        break;
      case nr_creat:
        name = "open", str(task.path), num(0x241), num(r.rsi);  // O_CREAT|O_WRONLY|O_TRUNC
        break;
      case nr_openat:
        name = "openat", num(r.rdi), str(task.path), num(r.rdx), num(r.r10);
        break;
      case nr_close:
        name = "close", num(r.rdi);
        break;
      case nr_unlink:
        name = "unlink", str(task.path);
        break;
      case nr_rmdir:
        name = "rmdir", str(task.path);
        break;
      case nr_unlinkat:
        name = "unlinkat", num(r.rdi), str(task.path), num(r.rdx);
        break;
      case nr_link:
        name = "link", str(task.path), str(task.path2);
        break;
      case nr_rename:
        name = "rename", str(task.path), str(task.path2);
        break;
      case nr_linkat:
        name = "linkat", num(r.rdi), str(task.path), num(r.rdx), str(task.path2), num(r.r8);
        break;
      case nr_renameat:
        name = "renameat", num(r.rdi), str(task.path), num(r.rdx), str(task.path2);
        break;
      case nr_renameat2:
        name = "renameat2", num(r.rdi), str(task.path), num(r.rdx), str(task.path2), num(r.r8);
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
        name = "memfd_create", str(task.path), num(r.rsi);
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
        // New limits for the tracee itself become @rlimit lines.
        if (ret != 0) return;
        const bool self =
            nr == nr_setrlimit || r.rdi == 0 || static_cast<pid_t>(r.rdi) == task.tgid;
        const uint64_t res = nr == nr_setrlimit ? r.rdi : r.rsi;
        const uint64_t ptr = nr == nr_setrlimit ? r.rsi : r.rdx;
        if (!self || !ptr) return;
        uint64_t lim[2];
        if (!read_mem(t, ptr, lim, sizeof lim)) return;
        static const char *names[] = {
            "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
            "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
            "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
            "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
        if (res >= 16) return;
        auto v = [](uint64_t x) { return x == ~0ull ? std::string("RLIM_INFINITY") : fmt_dec(x); };
        line(t, std::string("@rlimit ") + names[res] + " " + v(lim[0]) + " " + v(lim[1]));
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
        if (ret >= 0 && (nr == nr_memfd_secret || nr == nr_io_uring_setup))
          line(t, fd_line(t, ret));
        return;
      default:
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
    if (ret < 0 && (nr == nr_open || nr == nr_creat || nr == nr_openat))
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
  }

  // A fault signal the kernel raised: replayed as a touch of the faulting address that must
  // raise the same signal with the same si_code. An instruction fetch faults at the
  // instruction pointer; a load or store is what the VMA's protection says it must have been.
  void fault(pid_t t, Task &task, int sig) {
    siginfo_t si{};
    ::ptrace(PTRACE_GETSIGINFO, t, nullptr, &si);
    const uint64_t addr = reinterpret_cast<uint64_t>(si.si_addr);
    const std::string what =
        std::string(sig == SIGSEGV ? "SIGSEGV" : "SIGBUS") + " " + std::to_string(si.si_code);
    std::string access = "read";
    // An instruction fetch faults at the instruction pointer.
    user_regs_struct regs;
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
    if (si.si_code <= 0 || access.empty() || exec_pending_) {
      line(t, "# --- " + what + " si_addr=" + fmt_hex(addr) + " --- (not replayed)");
      return;
    }
    touches(t, task);
    line(t, "@touch " + fmt_hex(addr) + " 1 " + access + " " + what);
  }

  void checkpoint(pid_t t, const Task &task) {
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

  void final_checkpoint(pid_t t, const Task &task) {
    // Written just before exit_group runs (checkpoints=end).
    const pid_t pid = task.tgid ? task.tgid : t;
    std::string maps = slurp("/proc/" + std::to_string(pid) + "/maps");
    if (maps.empty()) return;
    std::fprintf(o_.out, "# the address space at exit_group:\n");
    checkpoint(t, task);
  }

  const RecordOptions &o_;
  std::map<pid_t, Task> tasks_;
  std::set<pid_t> fresh_;
  std::set<pid_t> early_;
  std::map<pid_t, std::chrono::steady_clock::time_point> since_;  // when each lock was taken
  std::map<pid_t, uint64_t> faults_;  // per process: page faults when its smaps was last read //
                                      // children stopped before their parent's fork event
  std::map<pid_t, pid_t> busy_;       // per process: the thread inside a memory call
  std::map<pid_t, std::vector<pid_t>> held_;         // threads waiting to enter theirs
  std::map<pid_t, std::vector<VmaAnon>> snapshots_;  // per process, after its last call
  bool exec_pending_ = true;  // before the first execve the address space is the recorder's
  long touches_ = 0;
  long skipped_ = 0;  // checkpoints left out while several threads ran
  HostFiles files_{[this](pid_t t, const std::string &text) { line(t, text); }};
  pid_t leader_ = 0;
  long calls_ = 0, checkpoints_ = 0, unsupported_ = 0;
};

}  // namespace

RecordResult record_program(const RecordOptions &o) {
  Recorder r(o);
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
