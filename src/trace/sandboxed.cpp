// The sandbox owner and its worker. See sandbox.hpp.
#include "trace/sandboxed.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "file/confined.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define VMSPACE_CLI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMSPACE_CLI_ASAN 1
#endif
#endif

namespace vmspace {

namespace {

volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_worker = 0;

void pass_on(int sig) {
  g_signal = sig;
  if (g_worker > 0) ::kill(static_cast<pid_t>(g_worker), sig);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// Written with write(2) alone: there may be no memory left to format anything.
char g_oom_message[256];
void out_of_memory() {
  const ssize_t r = ::write(STDERR_FILENO, g_oom_message, std::strlen(g_oom_message));
  (void)r;
  ::_exit(2);
}

uint64_t host_ram() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                               : 4ull << 30;
}

[[maybe_unused]] uint64_t mapped_now() {
  FILE *f = std::fopen("/proc/self/statm", "re");
  unsigned long long pages = 0;
  if (f) {
    if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// The worker's side: limits, then the work.
[[noreturn]] void worker(const char *what, const std::string &sandbox, uint64_t max_memory,
                         const std::function<int(const std::string &)> &work) {
  for (int sig : kForwarded) ::signal(sig, SIG_DFL);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::snprintf(g_oom_message, sizeof g_oom_message,
                "vmspace %s: out of host memory (the run needs more than --max-memory=%llu "
                "allows, or the host has no more): stopped\n",
                what, static_cast<unsigned long long>(max_memory));
  std::set_new_handler(out_of_memory);
#ifndef VMSPACE_CLI_ASAN
  // The backstop: the model's own accounting stops it at max_memory; whatever else grows
  // (statements, strings) meets this limit and the handler above.
  struct rlimit as {};
  if (::getrlimit(RLIMIT_AS, &as) == 0) {
    const uint64_t want = mapped_now() + 2 * max_memory + (512ull << 20);
    if (as.rlim_cur == RLIM_INFINITY || want < as.rlim_cur) {
      as.rlim_cur = static_cast<rlim_t>(want);
      (void)::setrlimit(RLIMIT_AS, &as);
    }
  }
#endif
  int status = 2;
  try {
    status = work(sandbox);
  } catch (const std::bad_alloc &) {
    out_of_memory();
  }
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

bool parse_size(const std::string &s, uint64_t *bytes) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno) return false;
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10;
  else if (*end == 'M' || *end == 'm')
    shift = 20;
  else if (*end == 'G' || *end == 'g')
    shift = 30;
  if (shift) end++;
  if (*end || v == 0 || v > (~0ull >> shift)) return false;
  *bytes = static_cast<uint64_t>(v) << shift;
  return true;
}

uint64_t default_max_memory() {
  uint64_t m = host_ram() / 4;
  struct rlimit as {};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
      static_cast<uint64_t>(as.rlim_cur) / 4 < m)
    m = static_cast<uint64_t>(as.rlim_cur) / 4;
  return m;
}

int run_sandboxed(const char *what, const std::string &root, uint64_t max_memory,
                  const std::function<int(const std::string &)> &work) {
  // Signals are taken before the sandbox exists, so that none can end the parent between
  // making it and removing it.
  struct sigaction sa {
  }, old[4];
  sa.sa_handler = pass_on;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 4; i++) ::sigaction(kForwarded[i], &sa, &old[i]);
  auto restore = [&] {
    for (int i = 0; i < 4; i++) ::sigaction(kForwarded[i], &old[i], nullptr);
  };

  std::string sandbox = root;
  std::string tmp_dir, tmp_name;
  if (sandbox.empty()) {
    const char *t = std::getenv("TMPDIR");
    tmp_dir = t && *t ? t : "/tmp";
    std::string tmpl = tmp_dir + "/vmspace-" + what + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      std::fprintf(stderr, "vmspace %s: cannot create a sandbox directory in %s: %s\n", what,
                   tmp_dir.c_str(), std::strerror(errno));
      restore();
      return 2;
    }
    sandbox = buf.data();
    tmp_name = sandbox.substr(sandbox.rfind('/') + 1);
  } else {
    struct stat st {};
    if (::stat(sandbox.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "vmspace %s: --root %s is not a directory\n", what, sandbox.c_str());
      restore();
      return 2;
    }
  }
  // The directory that holds the sandbox, to remove it by name without following anything.
  UniqueFd holder;
  if (!tmp_name.empty()) {
    holder.reset(
        ::open(sandbox.substr(0, sandbox.rfind('/')).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  auto remove_sandbox = [&] {
    if (tmp_name.empty()) return;
    if (!holder || !confined::remove_tree(holder.get(), tmp_name))
      std::fprintf(stderr, "vmspace %s: could not remove the sandbox %s completely\n", what,
                   sandbox.c_str());
  };

  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "vmspace %s: cannot start the worker: %s\n", what, std::strerror(errno));
    remove_sandbox();
    restore();
    return 2;
  }
  if (pid == 0) {
    holder.reset();
    worker(what, sandbox, max_memory, work);
  }
  g_worker = pid;
  if (g_signal) ::kill(pid, g_signal);  // a signal that came before the worker existed
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      status = 2 << 8;
      break;
    }
  }
  g_worker = 0;
  remove_sandbox();
  restore();
  if (g_signal) {
    // The parent was told to stop: it stops the way it was told, sandbox removed.
    const int sig = g_signal;
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return 128 + sig;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig != SIGPIPE)
      std::fprintf(stderr,
                   "vmspace %s: internal error: the worker died of signal %d (%s); the sandbox "
                   "was removed\n",
                   what, sig, strsignal(sig));
    return 128 + sig;
  }
  return 2;
}

}  // namespace vmspace
