// The kernel side of the differential tests. See oracle_proc.hpp.
#include "oracle_proc.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace difftest {

namespace {
enum { OP_SYSCALL = 1, OP_TOUCH = 2, OP_FILL = 3, OP_EXIT = 4 };

struct Cmd {
  long op;
  long nr;
  long args[6];
  long str_arg;
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
}  // namespace

Oracle::~Oracle() { stop(); }

bool Oracle::start(const OracleOptions &o, std::string *error) {
  int cmd[2], res[2];
  if (::pipe2(cmd, O_CLOEXEC) != 0 || ::pipe2(res, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // Child: descriptors 0-2 on /dev/null, the pipes at 100 and 101, nothing else.
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(cmd[0], 100);
    ::dup2(res[1], 101);
    for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
    for (int fd = 3; fd < 1024; fd++)
      if (fd != 100 && fd != 101) ::close(fd);
    if (::chdir(o.dir.c_str()) != 0) ::_exit(120);
    struct rlimit rl;
    rl.rlim_cur = o.rlimit_stack;
    rl.rlim_max = RLIM_INFINITY;
    ::setrlimit(RLIMIT_STACK, &rl);
    rl.rlim_cur = rl.rlim_max = o.rlimit_memlock;
    ::setrlimit(RLIMIT_MEMLOCK, &rl);
    rl.rlim_cur = o.rlimit_nofile;
    rl.rlim_max = 1048576;
    ::setrlimit(RLIMIT_NOFILE, &rl);
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
  ::close(cmd[0]);
  ::close(res[1]);
  pid_ = pid;
  cmd_fd_ = cmd[1];
  res_fd_ = res[0];
  dead_ = false;
  // A first call faults in the oracle's .bss, so the layout is settled before it is read.
  long args[6] = {};
  if (syscall(39 /* getpid */, args) != pid_) {
    *error = "the oracle did not start (" + o.oracle_path + ")";
    stop();
    return false;
  }
  return true;
}

long Oracle::command(long op, long nr, const long args[6], int str_arg, const std::string &str) {
  if (dead_) return -10000;
  Cmd c{};
  c.op = op;
  c.nr = nr;
  for (int i = 0; i < 6; i++) c.args[i] = args[i];
  c.str_arg = str_arg;
  std::memcpy(c.str, str.data(), std::min(str.size(), sizeof c.str - 1));
  long ret = 0;
  if (!write_full(cmd_fd_, &c, sizeof c) || !read_full(res_fd_, &ret, sizeof ret)) {
    dead_ = true;
    return -10000;
  }
  return ret;
}

long Oracle::syscall(long nr, const long args[6], int str_arg, const std::string &str) {
  return command(OP_SYSCALL, nr, args, str_arg, str);
}

long Oracle::touch(uint64_t addr, uint64_t len, bool write) {
  long args[6] = {static_cast<long>(addr), static_cast<long>(len), write ? 1 : 0, 0, 0, 0};
  return command(OP_TOUCH, 0, args, -1, "");
}

long Oracle::fill(uint64_t addr, uint64_t n) {
  long args[6] = {static_cast<long>(addr), static_cast<long>(n), 0, 0, 0, 0};
  return command(OP_FILL, 0, args, -1, "");
}

std::string Oracle::maps() const { return slurp("/proc/" + std::to_string(pid_) + "/maps"); }
std::string Oracle::smaps() const { return slurp("/proc/" + std::to_string(pid_) + "/smaps"); }

bool Oracle::alive() const { return !dead_; }

void Oracle::stop() {
  if (pid_ <= 0) return;
  if (!dead_) {
    long args[6] = {};
    Cmd c{};
    c.op = OP_EXIT;
    (void)args;
    write_full(cmd_fd_, &c, sizeof c);
  }
  ::close(cmd_fd_);
  ::close(res_fd_);
  int status;
  if (::waitpid(pid_, &status, WNOHANG) == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

}  // namespace difftest
