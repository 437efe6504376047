// The host files of a recording. See host_files.hpp.
#include "trace/host_files.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "file/elf.hpp"
#include "trace/symbols.hpp"
#include "trace/tracee.hpp"

namespace vmspace {

// *path (relative, or empty for the directory itself) made absolute from the directory
// behind t's descriptor dirfd; false when that has no path.
bool HostFiles::under_dirfd(pid_t t, long dirfd, std::string *path) {
  char dir[4096];
  const std::string dl = "/proc/" + std::to_string(t) + "/fd/" + std::to_string(dirfd);
  const ssize_t dn = ::readlink(dl.c_str(), dir, sizeof dir);
  if (dn <= 0 || dir[0] != '/') return false;
  const std::string d = dn == 1 ? std::string() : std::string(dir, static_cast<size_t>(dn));
  *path = path->empty() ? (d.empty() ? "/" : d) : d + "/" + *path;
  return true;
}

std::string HostFiles::cwd_of(pid_t t) {
  char buf[4096];
  const std::string link = "/proc/" + std::to_string(t) + "/cwd";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void HostFiles::absolutize(pid_t t, std::string *path) {
  if (path->empty() || (*path)[0] == '/') return;
  const std::string cwd = cwd_of(t);
  if (cwd.empty()) return;
  *path = (cwd == "/" ? "" : cwd) + "/" + *path;
}

// The descriptors a recvmsg() put in its control message (struct msghdr at `msg`).
std::vector<int> HostFiles::received_fds(pid_t t, uint64_t msg) {
  std::vector<int> fds;
  struct msghdr m {};
  if (!read_mem(t, msg, &m, sizeof m) || !m.msg_control) return fds;
  std::vector<char> ctl(std::min<size_t>(m.msg_controllen, 1 << 16));
  if (ctl.empty() ||
      !read_mem(t, reinterpret_cast<uint64_t>(m.msg_control), ctl.data(), ctl.size()))
    return fds;
  m.msg_control = ctl.data();
  m.msg_controllen = ctl.size();
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  return fds;
}

namespace {
// " rdev=MAJ:MIN" of a device node.
std::string device_words(const struct stat &st) {
  char b[48];
  std::snprintf(b, sizeof b, " rdev=%x:%x", major(st.st_rdev), minor(st.st_rdev));
  return b;
}
}  // namespace

// A file about to be mapped that the program grew or shrank with calls the trace does not
// have (write, fallocate, ...): "@fdsize FD SIZE" gives its stand-in the size it has now.
void HostFiles::before_mmap(pid_t t, uint64_t fd) {
  const std::string link = "/proc/" + std::to_string(t) + "/fd/" + std::to_string(fd);
  struct stat st;
  if (::stat(link.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  auto it = sizes_.find({st.st_dev, st.st_ino});
  if (it == sizes_.end() || it->second == static_cast<uint64_t>(st.st_size)) return;
  it->second = static_cast<uint64_t>(st.st_size);
  emit_(t, "@fdsize " + fmt_dec(fd) + " " + fmt_dec(it->second));
}

// The file (or directory) a name the program is about to remove or rename names: its
// stand-in in a replay, when the trace has none yet.
void HostFiles::named(pid_t t, std::string path, long dirfd, int open_errno) {
  if (path.empty()) return;
  if (path[0] != '/' && !under_dirfd(t, dirfd, &path)) return;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  // The name itself: its directory resolved, not what a symbolic link points to.
  const size_t slash = path.rfind('/');
  char real[PATH_MAX];
  const std::string dir = slash ? path.substr(0, slash) : "/";
  if (!::realpath(dir.c_str(), real)) return;
  const std::string shown =
      (std::string(real) == "/" ? "" : std::string(real)) + path.substr(slash);
  // A symbolic link carries its target; "existing": the name was there before the call (a
  // later O_EXCL open of it fails).
  std::string target;
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n <= 0) return;
    target = " " + fmt_string(std::string(buf, static_cast<size_t>(n)));
  }
  std::string line_text = hostfile_line(path, st, shown) + target + " existing";
  // A device: which one, and what its open gave (a replay never opens it).
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    line_text += device_words(st);
    if (open_errno > 0)
      line_text += std::string(" open=") + errno_name(static_cast<Errno>(open_errno));
  }
  sizes_[{st.st_dev, st.st_ino}] = static_cast<uint64_t>(st.st_size);
  auto &seen = names_[path];
  if (seen == line_text) return;
  seen = line_text;
  emit_(t, line_text);
}

// A file or directory the program opened: its stand-in in a replay. `path` is as the
// program named it, relative to `dirfd` unless absolute.
void HostFiles::opened(pid_t t, std::string path, uint64_t flags, long dirfd, int fd) {
  if (path.empty()) return;
  if (path[0] != '/' && !under_dirfd(t, dirfd, &path)) return;
  // Opened through a symbolic link: the link too (a replay resolves the name in its tree).
  struct stat ls;
  if (::lstat(path.c_str(), &ls) == 0 && S_ISLNK(ls.st_mode)) named(t, path, -100);
  const std::string link = "/proc/" + std::to_string(t) + "/fd/" + std::to_string(fd);
  struct stat st;
  // (A symbolic link itself, opened with O_PATH|O_NOFOLLOW, was recorded above.)
  if (::stat(link.c_str(), &st) != 0 ||
      !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
        S_ISBLK(st.st_mode)))
    return;
  char buf[4096];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  std::string shown = n > 0 ? std::string(buf, static_cast<size_t>(n)) : path;
  if ((flags & 020200000) == 020200000) {
    // O_TMPFILE: the directory named, and the unnamed file made in it ("DIR/#INODE").
    struct stat ds;
    if (::stat(path.c_str(), &ds) != 0 || !S_ISDIR(ds.st_mode)) return;
    const std::string dir_line = hostfile_line(path, ds, path);
    if (names_[path] != dir_line) {
      names_[path] = dir_line;
      emit_(t, dir_line);
    }
    const std::string deleted = " (deleted)";
    if (shown.size() > deleted.size() &&
        shown.compare(shown.size() - deleted.size(), deleted.size(), deleted) == 0)
      emit_(t, hostfile_line(shown.substr(0, shown.size() - deleted.size()), st, shown));
    return;
  }
  std::string line_text = hostfile_line(path, st, shown);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line_text += device_words(st) + " existing";
  sizes_[{st.st_dev, st.st_ino}] = static_cast<uint64_t>(st.st_size);
  auto &seen = names_[path];
  if (seen == line_text) return;
  seen = line_text;
  emit_(t, line_text);
}

// The executable (and its interpreter) of a successful execve: metadata, and the bytes the
// loader reads (the first 256, the program headers, PT_INTERP), so that a replay can load
// the stand-ins.
void HostFiles::executed(pid_t t, const std::string &path) {
  std::string exe = path;
  if (exe.empty()) return;
  if (exe[0] != '/') {
    // The replay resolves the path as given from the same working directory.
    const std::string cwd = cwd_of(t);
    if (cwd.empty()) return;
    emit_(t, "@cwd " + fmt_string(cwd));
    absolutize(t, &exe);
  }
  // The file, the interpreter of a "#!" script, and the ELF interpreter (PT_INTERP).
  for (int level = 0; level < 4 && !exe.empty(); level++) {
    int fd = ::open(exe.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return;
    }
    char buf[4096];
    std::string shown = exe;
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(self.c_str(), buf, sizeof buf);
    if (n > 0) shown.assign(buf, static_cast<size_t>(n));
    const std::string line_text = hostfile_line(exe, st, shown);
    if (names_[exe] != line_text) {
      names_[exe] = line_text;
      emit_(t, line_text);
    }
    auto data = [&](uint64_t off, uint64_t len) {
      std::string b = read_file_range(fd, off, len);
      if (!b.empty())
        emit_(t, "@hostdata " + fmt_string(exe) + " " + fmt_dec(off) + " " + hex_of(b));
      return b;
    };
    const std::string head = data(0, 256);
    std::string next;
    if (head.compare(0, 2, "#!") == 0) {
      // The kernel's interpreter: the first word of the line.
      const size_t b = head.find_first_not_of(" \t", 2);
      const size_t e = b == std::string::npos ? b : head.find_first_of(" \t\n", b);
      if (b != std::string::npos && e != std::string::npos) next = head.substr(b, e - b);
    } else if (Result<ElfImage> img = read_elf(fd)) {
      data(img->phoff, static_cast<uint64_t>(img->phnum) * 56);
      for (const ElfSegment &sg : img->phdrs)
        if (sg.type == elf::pt_interp) data(sg.offset, sg.filesz);
      next = img->interp;
    }
    ::close(fd);
    exe = next;
  }
}

}  // namespace vmspace
