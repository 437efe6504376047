// Reading scripts and traces. See input.hpp.
#include "tools/vmspace/input.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmspace_cli {

InputText::~InputText() {
  if (map_) ::munmap(map_, map_len_);
}

bool InputText::open(const std::string &path, std::string *error) {
  auto bad = [&](const std::string &why) {
    *error = path + ":1:1: " + why;
    return false;
  };
  int fd = STDIN_FILENO;
  if (path != "-") {
    // Not waited for: a FIFO without a writer would block the open.
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return bad(std::string("cannot read: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    if (fd != STDIN_FILENO) ::close(fd);
    return bad(std::string("cannot read: ") + std::strerror(e));
  }
  if (path != "-" && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    ::close(fd);
    return bad(S_ISDIR(st.st_mode) ? "is a directory, not a script"
                                   : "is not a regular file or a pipe");
  }
  if (S_ISREG(st.st_mode)) {
    const size_t len = static_cast<size_t>(st.st_size);
    if (len > 0) {
      void *m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        const int e = errno;
        if (fd != STDIN_FILENO) ::close(fd);
        return bad(std::string("cannot map: ") + std::strerror(e));
      }
      ::madvise(m, len, MADV_SEQUENTIAL);
      map_ = m;
      map_len_ = len;
      view_ = std::string_view(static_cast<const char *>(m), len);
    }
    if (fd != STDIN_FILENO) ::close(fd);
    return true;
  }
  // A pipe: read to its end (blocking now: a FIFO's writer may come later).
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      if (fd != STDIN_FILENO) ::close(fd);
      return bad(std::string("cannot read: ") + std::strerror(e));
    }
    if (n == 0) break;
    if (buf_.size() + static_cast<size_t>(n) > kMaxPipeBytes) {
      if (fd != STDIN_FILENO) ::close(fd);
      return bad("more than " + std::to_string(kMaxPipeBytes) +
                 " bytes from a pipe (give a file instead)");
    }
    buf_.append(chunk, static_cast<size_t>(n));
  }
  if (fd != STDIN_FILENO) ::close(fd);
  view_ = buf_;
  return true;
}

}  // namespace vmspace_cli
