// Replaying strace logs. See strace_log.hpp.
#include "trace/strace_log.hpp"

#include <cstdlib>
#include <set>
#include <sstream>

#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

uint64_t AddressRelocator::relocate(uint64_t v) const {
  auto it = ranges_.upper_bound(v);
  if (it == ranges_.begin()) return v;
  --it;
  return v < it->second.first ? v + it->second.second : v;
}

void AddressRelocator::learn(const std::string &name, const std::vector<ArgVal> &args, uint64_t rec,
                             uint64_t got) {
  if (relocate(rec) == got) return;
  uint64_t len = 0;
  if (name == "mmap" && args.size() > 1) len = args[1].v;
  if (name == "mremap" && args.size() > 2) len = args[2].v;
  if (name == "brk") len = 1ull << 36;  // the heap, however far it grows
  len = (len + 4095) & ~4095ull;
  if (!len || rec + len < rec) return;
  const uint64_t end = rec + len;
  // Newer ranges replace what older ones said about the same addresses.
  for (auto it = ranges_.begin(); it != ranges_.end();) {
    const uint64_t s = it->first, e = it->second.first, d = it->second.second;
    if (e <= rec || s >= end) {
      ++it;
      continue;
    }
    it = ranges_.erase(it);
    if (s < rec) ranges_[s] = {rec, d};
    if (e > end) ranges_[end] = {e, d};
  }
  ranges_[rec] = {end, got - rec};
}

std::vector<uint64_t> fds_made_by(const CallStmt &c, int64_t result, bool *cloexec) {
  static const std::set<std::string> makers = {
      "socket",       "accept",        "accept4",         "eventfd",       "eventfd2",
      "epoll_create", "epoll_create1", "timerfd_create",  "signalfd",      "signalfd4",
      "inotify_init", "inotify_init1", "pidfd_open",      "pidfd_getfd",   "userfaultfd",
      "memfd_secret", "openat2",       "perf_event_open", "fanotify_init", "io_uring_setup",
      "open_tree",    "fsopen",        "fsmount",         "fspick",        "mq_open",
      "creat"};
  std::vector<uint64_t> fds;
  const bool pair = c.name == "pipe" || c.name == "pipe2" || c.name == "socketpair";
  if ((!pair && !makers.count(c.name)) || result < 0) return fds;
  *cloexec = c.source.find("CLOEXEC") != std::string::npos;
  if (!pair) {
    fds.push_back(static_cast<uint64_t>(result));
    return fds;
  }
  // strace prints the pair as [R, W] first.
  size_t open = c.source.find('['), close = c.source.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return fds;
  std::istringstream in(c.source.substr(open + 1, close - open - 1));
  std::string tok;
  while (std::getline(in, tok, ',')) fds.push_back(std::strtoull(tok.c_str(), nullptr, 10));
  return fds;
}

Errno place_placeholder_fd(Process &p, uint64_t fd, bool cloexec) {
  Result<int> tmp = p.open("/dev/null", lx::o_rdonly, 0);
  if (!tmp) return tmp.error();
  if (static_cast<uint64_t>(*tmp) != fd) {
    Result<int> d = p.dup2(static_cast<uint64_t>(*tmp), fd);
    (void)p.close(static_cast<uint64_t>(*tmp));
    if (!d) return d.error();
  }
  if (cloexec) (void)p.fcntl(fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  return Errno::none;
}

}  // namespace vmspace
