// Reading the files a script's `@layout FILE` directives name (bounded, regular files only,
// relative to the script's directory).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "trace/runner.hpp"
#include "trace/script_check.hpp"

namespace vmspace {

bool read_layout_file(const std::string &name, const std::string &script_dir, std::string *text,
                      std::string *error) {
  const std::string path = !name.empty() && name[0] == '/' ? name : script_dir + "/" + name;
  // Not waited for (a FIFO), not a device, not a directory: a regular file of bounded size.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = path + " is not a regular file";
    return false;
  }
  text->clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    if (text->size() + static_cast<size_t>(n) > kMaxLayoutBytes) {
      *error =
          path + " is larger than a layout may be (" + std::to_string(kMaxLayoutBytes) + " bytes)";
      ::close(fd);
      return false;
    }
    text->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (text->find('\0') != std::string::npos) {
    *error = path + " holds a NUL byte: it is not maps text";
    return false;
  }
  return true;
}

bool load_layout_files(Script &s, const std::string &script_dir, std::string *error) {
  for (Stmt &st : s.stmts) {
    Directive &d = st.dir;
    if (st.kind != Stmt::Dir || d.name != "layout" || d.has_block) continue;
    std::string e;
    if (!read_layout_file(d.words[0], script_dir, &d.file_text, &e)) {
      *error = where(s.file, st.loc) + ": @layout: " + e;
      return false;
    }
    d.file_loaded = true;
  }
  return true;
}

}  // namespace vmspace
