// Replaying strace logs. See strace_log.hpp.
#include "trace/strace_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <sstream>

#include "trace/script_fs.hpp"
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
  // Digits only: strtoull would take blanks, a sign (and wrap "-1") as well.
  if (w.empty() || !std::isxdigit(static_cast<unsigned char>(w[0]))) return false;
  char *end = nullptr;
  errno = 0;
  *v = std::strtoull(w.c_str(), &end, base);
  return !errno && end && !*end;
}
}  // namespace

bool parse_hostfile(const std::vector<std::string> &words, RecordedFile *out, std::string *error) {
  uint64_t size = 0, mode = 0, ino = 0, maj = 0, min = 0;
  auto dev_word = [](const std::string &w, uint64_t *ma, uint64_t *mi) {
    const size_t colon = w.find(':');
    return colon != std::string::npos && unsigned_word(w.substr(0, colon), 16, ma) &&
           unsigned_word(w.substr(colon + 1), 16, mi) && *ma <= 0xfff && *mi <= 0xfffff;
  };
  if (words.size() < 6 || !unsigned_word(words[1], 0, &size) ||
      !unsigned_word(words[2], 0, &mode) || mode > 0177777 || !unsigned_word(words[4], 0, &ino) ||
      !dev_word(words[3], &maj, &min)) {
    *error = "@hostfile: bad size, mode, device or inode";
    return false;
  }
  RecordedFile r;
  r.path = words[0];
  r.size = size;
  r.mode = static_cast<uint32_t>(mode);
  r.dev = makedev(maj, min);
  r.ino = ino;
  r.shown = words[5];
  // After SHOWN: a link's "TARGET" (quoted, so a target named "existing" stays one), then
  // keywords.
  for (size_t k = 6; k < words.size(); k++) {
    const std::string &w = words[k];
    if (k == 6 && (r.mode & S_IFMT) == S_IFLNK && !r.existing && w != "existing" &&
        w.compare(0, 5, "rdev=") != 0 && w.compare(0, 5, "open=") != 0) {
      r.link_target = w;
    } else if (w == "existing") {
      r.existing = true;
    } else if (w.compare(0, 5, "rdev=") == 0 && dev_word(w.substr(5), &maj, &min)) {
      r.rdev = makedev(maj, min);
    } else if (w.compare(0, 5, "open=") == 0 && errno_from_name(w.substr(5)) != Errno::none) {
      r.open_error = errno_from_name(w.substr(5));
    } else {
      *error = "@hostfile: unexpected '" + w +
               "' (expected \"TARGET\", existing, rdev=MAJ:MIN "
               "or open=ERRNO)";
      return false;
    }
  }
  if (out) *out = std::move(r);
  return true;
}

bool add_recorded_file(ScriptFs &fs, const std::vector<std::string> &words, std::string *error) {
  RecordedFile r;
  return parse_hostfile(words, &r, error) && fs.add_recorded_file(r, error);
}

bool parse_hostdata(const std::vector<std::string> &words, uint64_t *offset, std::string *bytes,
                    std::string *error) {
  uint64_t off = 0;
  const std::string &hex = words.size() == 3 ? words[2] : std::string();
  bool good = words.size() == 3 && unsigned_word(words[1], 0, &off) && hex.size() % 2 == 0;
  std::string b;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  b.reserve(hex.size() / 2);
  for (size_t k = 0; good && k < hex.size(); k += 2) {
    const int hi = nibble(hex[k]), lo = nibble(hex[k + 1]);
    good = hi >= 0 && lo >= 0;
    b.push_back(static_cast<char>(hi * 16 + lo));
  }
  if (!good) {
    *error = "@hostdata: bad offset or hex bytes";
    return false;
  }
  if (offset) *offset = off;
  if (bytes) *bytes = std::move(b);
  return true;
}

bool add_recorded_bytes(ScriptFs &fs, const std::vector<std::string> &words, std::string *error) {
  uint64_t off = 0;
  std::string bytes;
  return parse_hostdata(words, &off, &bytes, error) &&
         fs.write_recorded_bytes(words[0], off, bytes, error);
}

Errno resize_standin(Process &p, ScriptFs &fs, uint64_t fd, uint64_t size) {
  if (!p.fcntl(fd, lx::f_getfd, 0)) return Errno::badf;
  const int host = p.host_fd(fd);
  if (host < 0) return Errno::inval;
  Result<void> r = fs.resize(host, size);
  return r ? Errno::none : r.error();
}

}  // namespace vmspace
