// Reading a traced process. See tracee.hpp.
#include "trace/tracee.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proc/maps.hpp"
#include "trace/symbols.hpp"

namespace vmspace {

bool read_mem(pid_t pid, uint64_t addr, void *buf, size_t len) {
  struct iovec local = {buf, len}, remote = {reinterpret_cast<void *>(addr), len};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

// A NUL-terminated string of the tracee (at most 1 MiB), read a page piece at a time.
bool read_string(pid_t pid, uint64_t addr, std::string *out) {
  out->clear();
  char buf[256];
  while (out->size() < (1u << 20)) {
    size_t chunk = sizeof buf - (addr % sizeof buf);
    if (!read_mem(pid, addr, buf, chunk)) return false;
    for (size_t i = 0; i < chunk; i++) {
      if (!buf[i]) return true;
      out->push_back(buf[i]);
    }
    addr += chunk;
  }
  return false;
}

bool read_strvec(pid_t pid, uint64_t addr, std::vector<std::string> *out) {
  out->clear();
  if (!addr) return true;
  for (int i = 0; i < 1 << 20; i++) {
    uint64_t p = 0;
    if (!read_mem(pid, addr + 8 * static_cast<uint64_t>(i), &p, 8)) return false;
    if (!p) return true;
    std::string s;
    if (!read_string(pid, p, &s)) return false;
    out->push_back(std::move(s));
  }
  return false;
}

std::string strvec_text(const std::vector<std::string> &v) {
  std::string t = "[";
  for (size_t i = 0; i < v.size(); i++) t += (i ? ", " : "") + fmt_string(v[i]);
  return t + "]";
}

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The memory lines of /proc/PID/status vmspace renders.
uint64_t fault_count(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(paren + 2));
  std::string w;
  uint64_t minflt = 0, majflt = 0;
  for (int field = 3; in >> w && field <= 12; field++) {
    if (field == 10) minflt = std::strtoull(w.c_str(), nullptr, 10);
    if (field == 12) majflt = std::strtoull(w.c_str(), nullptr, 10);
  }
  return minflt + majflt + 1;  // never 0 when read
}

std::string status_lines(pid_t pid) {
  return vm_status_lines(slurp("/proc/" + std::to_string(pid) + "/status"));
}

std::vector<VmaAnon> anon_snapshot(pid_t pid) {
  std::vector<VmaAnon> out;
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/smaps"));
  std::string l;
  while (std::getline(in, l)) {
    size_t dash = l.find('-');
    if (dash != std::string::npos && dash > 0 && dash < 17 &&
        l.find_first_not_of("0123456789abcdef") == dash) {
      VmaAnon v{};
      v.start = std::strtoull(l.c_str(), nullptr, 16);
      v.end = std::strtoull(l.c_str() + dash + 1, nullptr, 16);
      out.push_back(v);
    } else if (!out.empty() && l.compare(0, 10, "Anonymous:") == 0) {
      out.back().anon = std::strtoull(l.c_str() + 10, nullptr, 10) > 0;
    } else if (!out.empty() && l.compare(0, 8, "VmFlags:") == 0) {
      out.back().growsdown = l.find(" gd") != std::string::npos;
    }
  }
  return out;
}

std::vector<VmaAnon> maps_ranges(pid_t pid) {
  std::vector<VmaAnon> out;
  const std::string maps = slurp("/proc/" + std::to_string(pid) + "/maps");
  for (size_t at = 0; at < maps.size();) {
    size_t nl = maps.find('\n', at);
    if (nl == std::string::npos) nl = maps.size();
    char *end = nullptr;
    VmaAnon v{};
    v.start = std::strtoull(maps.c_str() + at, &end, 16);
    if (end && *end == '-') v.end = std::strtoull(end + 1, nullptr, 16);
    if (v.end > v.start) out.push_back(v);
    at = nl + 1;
  }
  return out;
}

std::string hex_of(const std::string &bytes) {
  static const char *digits = "0123456789abcdef";
  std::string h;
  for (unsigned char c : bytes) {
    h.push_back(digits[c >> 4]);
    h.push_back(digits[c & 15]);
  }
  return h;
}

std::string read_file_range(int fd, uint64_t off, uint64_t len) {
  std::string b(len, '\0');
  ssize_t n = ::pread(fd, b.data(), len, static_cast<off_t>(off));
  b.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return b;
}

// "@file ..."-style metadata of a host file the program uses: `key` is the path it named,
// `st` the file's status and `shown` the path /proc/PID/maps shows for it.
std::string hostfile_line(const std::string &key, const struct stat &st, const std::string &shown) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " %llu 0%o %02x:%02x %llu ",
                static_cast<unsigned long long>(st.st_size), st.st_mode, major(st.st_dev),
                minor(st.st_dev), static_cast<unsigned long long>(st.st_ino));
  return "@hostfile " + fmt_string(key) + buf + fmt_string(shown);
}

// "@fd N" or "@fd N cloexec", from /proc/PID/fdinfo/N.
std::string fd_line(pid_t pid, long fd) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd)));
  std::string l;
  bool cloexec = false;
  while (std::getline(in, l))
    if (l.compare(0, 6, "flags:") == 0)
      cloexec = std::strtoull(l.c_str() + 6, nullptr, 8) & O_CLOEXEC;
  return "@fd " + std::to_string(fd) + (cloexec ? " cloexec" : "");
}

}  // namespace vmspace
