// The kernel side of the differential tests. See oracle_proc.hpp.
#include "oracle_proc.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace difftest {

namespace {
enum { OP_SYSCALL = 1, OP_TOUCH = 2, OP_FILL = 3, OP_EXIT = 4, OP_FORK = 5, OP_SYSCALL_OUT = 9 };
constexpr long kFaultAnswer = -100000;  // FAULT_ANSWER in oracle.c

struct Cmd {
  long op;
  long nr;
  long args[6];
  long str_arg;
  long out_len;
  char str[4096];
};

bool write_full(int fd, const void *buf, size_t len) {
  const char *p = static_cast<const char *>(buf);
  while (len) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool read_full(int fd, void *buf, size_t len) {
  char *p = static_cast<char *>(buf);
  while (len) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int pidfd_of(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits until fd is readable or, when pidfd >= 0, the process has exited; true when fd is.
bool wait_readable(int fd, int pidfd) {
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int n = ::poll(p, pidfd >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (p[0].revents & (POLLIN | POLLHUP)) return (p[0].revents & POLLIN) != 0;
    if (pidfd >= 0 && p[1].revents) {
      // Exited; an answer written just before still counts.
      struct pollfd q = {fd, POLLIN, 0};
      return ::poll(&q, 1, 0) == 1 && (q.revents & POLLIN);
    }
  }
}
}  // namespace

Oracle::~Oracle() { stop(); }

bool Oracle::start(const OracleOptions &o, std::string *error) {
  int cmd[kSlots][2], res[kSlots][2];
  for (int k = 0; k < kSlots; k++) {
    if (::pipe2(cmd[k], O_CLOEXEC) != 0 || ::pipe2(res[k], O_CLOEXEC) != 0) {
      *error = std::string("pipe: ") + std::strerror(errno);
      return false;
    }
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // Child: descriptors 0-2 on /dev/null, the pipes at 100..107, nothing else.
    // Every descriptor is first moved above 1024, so that none of them can be overwritten by
    // the dup2 calls that place the others.
    int null = ::fcntl(::open("/dev/null", O_RDWR), F_DUPFD, 1024);
    int hi[kSlots][2];
    for (int k = 0; k < kSlots; k++) {
      hi[k][0] = ::fcntl(cmd[k][0], F_DUPFD, 1024);
      hi[k][1] = ::fcntl(res[k][1], F_DUPFD, 1024);
    }
    for (int k = 0; k < kSlots; k++) {
      ::dup2(hi[k][0], 100 + 2 * k);
      ::dup2(hi[k][1], 101 + 2 * k);
    }
    for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
    for (int fd = 3; fd < 1200; fd++)
      if (fd < 100 || fd >= 100 + 2 * kSlots) ::close(fd);
    if (::chdir(o.dir.c_str()) != 0) ::_exit(120);
    // One CPU for the oracle and its children: the kernel's per-CPU page batches (new pages
    // waiting for the LRU, MADV_FREE's lazy-free batch) then fill and drain as a program that
    // stays on its CPU sees them, not as migrations between CPUs happen to.
    {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      const int cpu = ::sched_getcpu();
      CPU_SET(cpu >= 0 ? cpu : 0, &cpus);
      (void)::sched_setaffinity(0, sizeof cpus, &cpus);
    }
    struct rlimit rl;
    rl.rlim_cur = o.rlimit_stack;
    rl.rlim_max = RLIM_INFINITY;
    ::setrlimit(RLIMIT_STACK, &rl);
    rl.rlim_cur = rl.rlim_max = o.rlimit_memlock;
    ::setrlimit(RLIMIT_MEMLOCK, &rl);
    rl.rlim_cur = o.rlimit_nofile;
    rl.rlim_max = 1048576;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    // A runaway call (one that walks terabytes of page tables) ends the oracle, not the run.
    rl.rlim_cur = rl.rlim_max = 60;
    ::setrlimit(RLIMIT_CPU, &rl);
    rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    ::setrlimit(RLIMIT_AS, &rl);
    ::setrlimit(RLIMIT_DATA, &rl);
    ::personality(ADDR_NO_RANDOMIZE);
    if (!o.privileged) {
      if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
        ::_exit(121);
    }
    char *argv[] = {const_cast<char *>("vmspace-oracle"), nullptr};
    char *envp[] = {nullptr};
    ::execve(o.oracle_path.c_str(), argv, envp);
    ::_exit(127);
  }
  for (int k = 0; k < kSlots; k++) {
    ::close(cmd[k][0]);
    ::close(res[k][1]);
    slots_[k] = Slot{};
    slots_[k].cmd_fd = cmd[k][1];
    slots_[k].res_fd = res[k][0];
  }
  leader_ = pid;
  slots_[0].pid = pid;
  slots_[0].pidfd = pidfd_of(pid);
  // A first call faults in the oracle's .bss, so the layout is settled before it is read.
  long args[6] = {};
  if (syscall(0, 39 /* getpid */, args) != pid) {
    *error = "the oracle did not start (" + o.oracle_path + ")";
    if (!o.privileged)
      *error += "; unprivileged, it runs as uid 65534, which must be able to reach it";
    stop();
    return false;
  }
  return true;
}

bool Oracle::send(int slot, long op, const long args[6], long nr, int str_arg,
                  const std::string &str, long out_len) {
  Cmd c{};
  c.out_len = out_len;
  c.op = op;
  c.nr = nr;
  for (int i = 0; i < 6; i++) c.args[i] = args[i];
  c.str_arg = str_arg;
  std::memcpy(c.str, str.data(), std::min(str.size(), sizeof c.str - 1));
  if (write_full(slots_[slot].cmd_fd, &c, sizeof c)) return true;
  mark_dead(slot);
  return false;
}

bool Oracle::receive(int slot, long *ret) {
  Slot &s = slots_[slot];
  if (wait_readable(s.res_fd, s.pidfd) && read_full(s.res_fd, ret, sizeof *ret)) return true;
  mark_dead(slot);
  return false;
}

void Oracle::mark_dead(int slot) {
  Slot &s = slots_[slot];
  if (s.dead) return;
  s.dead = true;
  // A vfork parent waiting for this child now answers.
  for (int k = 0; k < kSlots; k++) {
    if (slots_[k].vfork_child != slot) continue;
    slots_[k].vfork_child = -1;
    long ignored;
    if (alive(k)) receive(k, &ignored);
  }
}

long Oracle::command(int slot, long op, const long args[6], long nr, int str_arg,
                     const std::string &str) {
  if (!alive(slot) || blocked(slot)) return kDead;
  long ret = 0;
  if (!send(slot, op, args, nr, str_arg, str) || !receive(slot, &ret)) return kDead;
  return ret;
}

long Oracle::syscall(int slot, long nr, const long args[6], int str_arg, const std::string &str) {
  return command(slot, OP_SYSCALL, args, nr, str_arg, str);
}

long Oracle::syscall_out(int slot, long nr, const long args[6], int str_arg, const std::string &str,
                         long out_len, std::string *out) {
  out->clear();
  if (!alive(slot) || blocked(slot)) return kDead;
  long ret = 0;
  if (!send(slot, OP_SYSCALL_OUT, args, nr, str_arg, str, out_len) || !receive(slot, &ret))
    return kDead;
  long n = ret < 0 ? 0 : out_len >= 0 ? out_len : ret;
  if (n > 4096) n = 4096;
  out->resize(static_cast<size_t>(n));
  if (n && !read_full(slots_[slot].res_fd, out->data(), out->size())) {
    mark_dead(slot);
    return kDead;
  }
  return ret;
}

Oracle::Memory Oracle::memory(int slot, MemOp op, uint64_t addr, uint64_t len, uint64_t arg,
                              const std::string &bytes) {
  Memory m;
  m.dead = true;
  if (!alive(slot) || blocked(slot)) return m;
  long args[6] = {static_cast<long>(addr), static_cast<long>(len), static_cast<long>(arg), 0, 0, 0};
  long ret = 0;
  if (!send(slot, static_cast<long>(op), args, 0, -1, bytes) || !receive(slot, &ret)) return m;
  Slot &s = slots_[slot];
  if (ret < kFaultAnswer && ret > kFaultAnswer - 65) {
    // The load or store faulted: the signal, si_code and si_addr follow; the process exits.
    long info[2];
    if (!read_full(s.res_fd, info, sizeof info)) return m;
    m.dead = false;
    m.signal = static_cast<int>(kFaultAnswer - ret);
    m.code = static_cast<int>(info[0]);
    m.addr = static_cast<uint64_t>(info[1]);
    mark_dead(slot);
    return m;
  }
  if (op == MemOp::peek && ret >= 0) {
    m.bytes.resize(static_cast<size_t>(ret));
    if (ret && !read_full(s.res_fd, m.bytes.data(), m.bytes.size())) return m;
  }
  m.dead = false;
  return m;
}

long Oracle::fill(int slot, uint64_t addr, uint64_t n) {
  long args[6] = {static_cast<long>(addr), static_cast<long>(n), 0, 0, 0, 0};
  return command(slot, OP_FILL, args, 0, -1, "");
}

long Oracle::fork(int slot, int child_slot, bool vfork) {
  if (!alive(slot) || blocked(slot) || alive(child_slot)) return kDead;
  long args[6] = {child_slot, vfork ? 1 : 0, 0, 0, 0, 0};
  if (!send(slot, OP_FORK, args, 0, -1, "")) return kDead;
  Slot &p = slots_[slot], &c = slots_[child_slot];
  if (c.pidfd >= 0) ::close(c.pidfd);  // the slot's previous, dead occupant
  c = Slot{-1, c.cmd_fd, c.res_fd, -1, false, -1};
  long pid = 0;
  if (!vfork) {
    if (!receive(slot, &pid)) return kDead;
    if (pid <= 0) return pid;
  } else {
    // The child says hello; a failed clone makes the parent answer instead.
    for (;;) {
      struct pollfd q[3] = {{c.res_fd, POLLIN, 0}, {p.res_fd, POLLIN, 0}, {p.pidfd, POLLIN, 0}};
      if (::poll(q, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return kDead;
      }
      if (q[0].revents & POLLIN) break;
      if (q[1].revents & POLLIN) {
        long r;
        return receive(slot, &r) ? r : kDead;
      }
      if (q[2].revents) {
        mark_dead(slot);
        return kDead;
      }
    }
  }
  long hello = 0;
  if (!read_full(c.res_fd, &hello, sizeof hello)) return kDead;
  c.pid = static_cast<pid_t>(hello);
  c.pidfd = pidfd_of(c.pid);
  if (c.pidfd < 0) c.dead = true;
  if (vfork) {
    p.vfork_child = child_slot;
    pid = hello;
  }
  return pid;
}

void Oracle::exit(int slot) {
  if (!alive(slot)) return;
  long args[6] = {};
  if (send(slot, OP_EXIT, args, 0, -1, "")) {
    // A process that never reads the command (a vfork parent) is killed after ten seconds.
    struct pollfd q = {slots_[slot].pidfd, POLLIN, 0};
    int r;
    while ((r = ::poll(&q, 1, 10000)) < 0 && errno == EINTR) {
    }
    if (r == 0) ::syscall(SYS_pidfd_send_signal, slots_[slot].pidfd, SIGKILL, nullptr, 0);
  }
  mark_dead(slot);
}

std::string Oracle::maps(int slot) const {
  return slurp("/proc/" + std::to_string(slots_[slot].pid) + "/maps");
}
std::string Oracle::smaps(int slot) const {
  return slurp("/proc/" + std::to_string(slots_[slot].pid) + "/smaps");
}
std::string Oracle::smaps_rollup(int slot) const {
  return slurp("/proc/" + std::to_string(slots_[slot].pid) + "/smaps_rollup");
}
std::string Oracle::status(int slot) const {
  return slurp("/proc/" + std::to_string(slots_[slot].pid) + "/status");
}
std::string Oracle::stat(int slot) const {
  return slurp("/proc/" + std::to_string(slots_[slot].pid) + "/stat");
}

void Oracle::stop() {
  if (leader_ <= 0) return;
  for (int k = kSlots - 1; k >= 0; k--) {
    Slot &s = slots_[k];
    if (s.pidfd >= 0 && !s.dead) ::syscall(SYS_pidfd_send_signal, s.pidfd, SIGKILL, nullptr, 0);
    if (s.pidfd >= 0) ::close(s.pidfd);
    ::close(s.cmd_fd);
    ::close(s.res_fd);
    s = Slot{};
  }
  int status;
  ::waitpid(leader_, &status, 0);
  leader_ = -1;
}

}  // namespace difftest
