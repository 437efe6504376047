// What a trace needs to know of the host's files, written as the recorder sees the program
// open, remove, rename, map and execute them: @hostfile (identity and size of files,
// directories, links and FIFOs), @hostdata (the bytes the ELF loader reads), @cwd, @fdsize.
// A replay builds its stand-ins from these lines and never looks at the originals.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vmspace {

class HostFiles {
 public:
  using Emit = std::function<void(pid_t, const std::string &)>;  // writes a line of the trace
  explicit HostFiles(Emit emit) : emit_(std::move(emit)) {}

  // A file or directory t opened as `path` (relative to dirfd unless absolute), now fd.
  void opened(pid_t t, std::string path, uint64_t flags, long dirfd, int fd);
  // A name t is about to remove or rename, or failed to open (it exists; open_errno: the
  // open's error, which a device's stand-in repeats).
  void named(pid_t t, std::string path, long dirfd, int open_errno = 0);
  // The program t executed (after a successful execve): it, its #! or ELF interpreter.
  void executed(pid_t t, const std::string &path);
  // t is about to map fd: its size if the program changed it since the trace last said.
  void before_mmap(pid_t t, uint64_t fd);
  // Names were removed or renamed: a later open records anew.
  void forget_names() { names_.clear(); }

  // The descriptors a recvmsg() put in its control message (struct msghdr at `msg`).
  static std::vector<int> received_fds(pid_t t, uint64_t msg);
  // *path (relative, or empty for the directory itself) made absolute from the directory
  // behind t's descriptor dirfd; false when that has no path.
  static bool under_dirfd(pid_t t, long dirfd, std::string *path);
  static std::string cwd_of(pid_t t);
  // A relative path made absolute with t's working directory.
  static void absolutize(pid_t t, std::string *path);

 private:
  Emit emit_;
  std::map<std::string, std::string> names_;  // path -> the @hostfile line last written
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> sizes_;  // (dev, inode) -> size in the trace
};

}  // namespace vmspace
