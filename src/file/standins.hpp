// The stand-in tree of a replay: ROOT/host/ holds a stand-in for every host file, directory,
// link, FIFO and device a trace recorded (@hostfile), at the path the host had it, so that a
// recorded name resolves in the tree as it resolved on the recording machine. The tree is
// always searched with ROOT/host as its root (confined.hpp): a recorded link keeps its target
// as written, and an absolute target ("/../../tmp/x") or a relative one ("../../..") resolves
// inside the tree, whatever it says.
//
// What the guest must see but the host file must not carry is kept here as metadata of the
// stand-in's inode: the identity maps shows (device, inode, path), whether the recorded
// program's next open is the one that made the file, setuid/setgid/sticky bits, and for a
// device node its device number and the error its open gave. Nothing is ever created
// outside the tree, and the number of files and bytes it may hold is bounded.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

// What a trace recorded of a host file (an @hostfile line).
struct RecordedFile {
  std::string path;                // as the program named it (absolute)
  uint64_t size = 0;               // st_size
  uint32_t mode = 0;               // st_mode, file type included
  uint64_t dev = 0;                // st_dev (makedev)
  uint64_t ino = 0;                // st_ino
  std::string shown;               // the path maps shows (where the host had the file)
  bool existing = false;           // the name existed before the call that follows
  std::string link_target;         // a symbolic link's target, as read
  uint64_t rdev = 0;               // a device node's st_rdev
  Errno open_error = Errno::none;  // a device whose open failed on the host
};

// Limits of what a sandbox may hold (so that no input can fill the host's disk).
struct SandboxLimits {
  uint64_t max_files = 1000000;     // files, directories, links and FIFOs made in the sandbox
  uint64_t max_bytes = 1ull << 30;  // bytes written into sandbox files (@hostdata, @file)
};

class StandinTree {
 public:
  // Metadata of one stand-in (keyed by its inode in the sandbox).
  struct Meta {
    std::string shown;          // the recorded path maps shows
    bool strip = false;         // the stand-in sits at ROOT/host/SHOWN: show its current path
    uint64_t dev = 0, ino = 0;  // the recorded identity (0: the sandbox file's own)
    bool existing = true;       // false: the recorded program's next open made the file
    uint32_t special = 0;       // S_ISUID | S_ISGID | S_ISVTX of the recorded mode
    bool device = false, block = false;
    uint64_t rdev = 0;
    Errno open_error = Errno::none;
  };

  // root_fd: the sandbox directory; the tree is its subdirectory "host".
  StandinTree(int root_fd, SandboxLimits limits) : root_fd_(root_fd), limits_(limits) {}

  // The tree's root directory (O_PATH), made on first use; -1 when there is none and
  // `make` is false (or it cannot be made).
  int fd(bool make);

  // Makes the stand-in for a recorded file; false with *error when it cannot be made (a
  // limit, a path that is no path).
  bool add(const RecordedFile &r, std::string *error);
  // Writes recorded bytes (an ELF header, a "#!" line) into a recorded regular file's
  // stand-in.
  bool write_bytes(const std::string &path, uint64_t offset, const std::string &bytes,
                   std::string *error);
  // The devices every Linux machine has (null, zero, full, random, urandom): stand-ins a
  // replay starts with (a trace that recorded them replaces them).
  bool add_builtin_devices(std::string *error);

  // The tree path of the stand-in of the recorded name `key` (absolute, lexically normal),
  // or null when the trace did not record it.
  const std::string *redirect(const std::string &key) const;
  // The metadata of the stand-in whose inode `st` describes, or null.
  Meta *meta(const struct stat &st);
  // Notes metadata for a file made in the sandbox (a stand-in of a host file written in an
  // strace replay, setuid bits of a created file).
  void set_meta(const struct stat &st, Meta m) { meta_[{st.st_dev, st.st_ino}] = std::move(m); }
  void drop_meta(const struct stat &st) { meta_.erase({st.st_dev, st.st_ino}); }
  // The identity of the next unnamed file O_TMPFILE made in the recorded directory `dir`.
  bool take_tmpfile(const std::string &dir, Meta *out);

  // The name `key` was removed (with everything below it when it was a directory).
  void forget(const std::string &key, bool dir);
  // The name `key` now names the stand-in at tree path `tree_path`.
  void bind(const std::string &key, const std::string &tree_path) { recorded_[key] = tree_path; }
  bool recorded(const std::string &key) const { return recorded_.count(key) != 0; }

  // Counts a file made in the sandbox; false (and nothing counted) past the limit.
  bool charge_file();
  bool charge_bytes(uint64_t n);
  const SandboxLimits &limits() const { return limits_; }

 private:
  int root_fd_;
  SandboxLimits limits_;
  UniqueFd tree_;
  uint64_t files_ = 0, bytes_ = 0;
  std::map<std::string, std::string> recorded_;  // recorded name -> tree path
  std::map<std::pair<uint64_t, uint64_t>, Meta> meta_;
  std::map<std::string, std::vector<Meta>> tmpfiles_;  // directory -> unnamed files, in order
};

}  // namespace vmspace
