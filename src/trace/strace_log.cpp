// Replaying strace logs. See strace_log.hpp.
#include "trace/strace_log.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <sstream>

#include "file/fd_table.hpp"
#include "file/vfs.hpp"
#include "mm/system_state.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

namespace {
// The mmap area of a 47-bit address space, above the PIE area (the stack above it is not
// named by memory calls).
bool in_mmap_area(uint64_t v) { return v >= 0x7e0000000000ull && v < 0x800000000000ull; }
}  // namespace

bool AddressRelocator::knows(uint64_t v) const {
  auto it = ranges_.upper_bound(v);
  if (it == ranges_.begin()) return false;
  --it;
  return v < it->second.first;
}

uint64_t AddressRelocator::relocate(uint64_t v) const {
  auto it = ranges_.upper_bound(v);
  if (it != ranges_.begin()) {
    --it;
    if (v < it->second.first) return v + it->second.second;
  }
  if (has_mmap_delta_ && in_mmap_area(v)) return v + mmap_delta_;
  if (has_exe_delta_ && in_pie_area(v)) return v + exe_delta_;
  return v;
}

void AddressRelocator::learn(const std::string &name, const std::vector<ArgVal> &args, uint64_t rec,
                             uint64_t got) {
  if (name == "mmap" && !has_mmap_delta_ && in_mmap_area(rec) && args.size() > 3 &&
      !(args[3].v & 0x10)) {
    // The first mapping the kernel placed for the program (not MAP_FIXED): the log's mmap
    // area sits that far from vmspace's.
    mmap_delta_ = got - rec;
    has_mmap_delta_ = true;
  }
  if (relocate(rec) == got) return;
  randomized_ = true;
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

namespace {
bool unsigned_word(const std::string &w, int base, uint64_t *v) {
  if (w.empty()) return false;
  char *end = nullptr;
  errno = 0;
  *v = std::strtoull(w.c_str(), &end, base);
  return !errno && end && !*end;
}
}  // namespace

bool add_recorded_file(Vfs &vfs, const std::vector<std::string> &words, std::string *error) {
  uint64_t size = 0, mode = 0, ino = 0, maj = 0, min = 0;
  const std::string &dev = words[3];
  const size_t colon = dev.find(':');
  if (!unsigned_word(words[1], 0, &size) || !unsigned_word(words[2], 0, &mode) ||
      !unsigned_word(words[4], 0, &ino) || colon == std::string::npos ||
      !unsigned_word(dev.substr(0, colon), 16, &maj) ||
      !unsigned_word(dev.substr(colon + 1), 16, &min)) {
    *error = "@hostfile: bad size, mode, device or inode";
    return false;
  }
  const bool existing = words.back() == "existing" && words.size() > 6;
  const std::string target = words.size() > (existing ? 7u : 6u) ? words[6] : std::string();
  return vfs.add_recorded_file(words[0], size, static_cast<uint32_t>(mode), makedev(maj, min), ino,
                               words[5], existing, target, error);
}

bool add_recorded_bytes(Vfs &vfs, const std::vector<std::string> &words, std::string *error) {
  uint64_t off = 0;
  const std::string &hex = words[2];
  bool good = unsigned_word(words[1], 0, &off) && hex.size() % 2 == 0;
  std::string bytes;
  for (size_t k = 0; good && k < hex.size(); k += 2) {
    uint64_t v = 0;
    good = unsigned_word(hex.substr(k, 2), 16, &v);
    bytes.push_back(static_cast<char>(v));
  }
  if (!good) {
    *error = "@hostdata: bad offset or hex bytes";
    return false;
  }
  return vfs.write_recorded_bytes(words[0], off, bytes, error);
}

Errno resize_standin(Process &p, uint64_t fd, uint64_t size) {
  OpenFile *f = p.files().get(fd & 0xffffffffu);
  if (!f) return Errno::badf;
  if (f->host_fd() < 0) return Errno::inval;
  char link[64], buf[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", f->host_fd());
  const ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n <= 0) return Errno::io;
  std::string path(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() &&
      path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  if (!p.system().impl().vfs.inside(path)) return Errno::perm;
  // Through /proc/self/fd: the file may have no name left.
  const int w = ::open(link, O_WRONLY | O_CLOEXEC);
  if (w < 0) return static_cast<Errno>(errno);
  const int r = ::ftruncate(w, static_cast<off_t>(size));
  const int e = errno;
  ::close(w);
  return r == 0 ? Errno::none : static_cast<Errno>(e);
}

Errno place_placeholder_fd(Process &p, uint64_t fd, bool cloexec) {
  SystemState &s = p.system().impl();
  if (!s.placeholder) {
    Result<int> tmp = p.open("/dev/null", lx::o_rdonly, 0);
    if (!tmp) return tmp.error();
    s.placeholder = Ref<OpenFile>(p.files().get(static_cast<uint64_t>(*tmp)));
    (void)p.close(static_cast<uint64_t>(*tmp));
  }
  Result<int> r = p.files().install_at(fd & 0xffffffffu, s.placeholder, cloexec,
                                       p.rlimit_cur(lx::rlimit_nofile));
  return r ? Errno::none : r.error();
}

}  // namespace vmspace
