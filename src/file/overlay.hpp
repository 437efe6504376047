// What a file system's user may add to the sandbox: an overlay tree inside it that absolute
// names resolve in (a replay's stand-in tree, src/trace/standins), with metadata of its
// files, and the sandbox's quota that every file made in it is charged to.
//
// The core knows the overlay only through this interface: what the overlay's files stand for
// (recorded identities, recorded devices, whether the recorded program's next open made a
// file) is the overlay's business; the sandbox file system asks and shows it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "vmspace/result.hpp"

namespace vmspace {

// Metadata of one file in the sandbox, kept apart from the host file (keyed by its inode).
struct NodeMeta {
  std::string shown;                   // the path maps shows (when not `strip`)
  bool strip = false;                  // show the file's current path, less the overlay's directory
  uint64_t dev = 0, ino = 0;           // the identity maps shows (0: the host file's own)
  bool existing = true;                // false: the next open with O_CREAT is the one that made it
  uint32_t special = 0;                // S_ISUID | S_ISGID | S_ISVTX the guest sees
  bool device = false, block = false;  // a device node's stand-in (never opened)
  uint64_t rdev = 0;
  Errno open_error = Errno::none;  // what opening the device gives
};

// The limits of what a sandbox may hold, and what it holds.
class SandboxQuota {
 public:
  SandboxQuota(uint64_t max_files, uint64_t max_bytes)
      : max_files_(max_files), max_bytes_(max_bytes) {}
  // Counts a file made in the sandbox; false (nothing counted) past the limit.
  bool charge_file() {
    if (files_ >= max_files_) return false;
    files_++;
    return true;
  }
  bool charge_bytes(uint64_t n) {
    if (n > max_bytes_ - bytes_) return false;
    bytes_ += n;
    return true;
  }
  uint64_t max_files() const { return max_files_; }
  uint64_t max_bytes() const { return max_bytes_; }

 private:
  uint64_t max_files_, max_bytes_;
  uint64_t files_ = 0, bytes_ = 0;
};

class Overlay {
 public:
  virtual ~Overlay() = default;
  // The tree's directory (O_PATH), made on first use when `make`; -1 when there is none.
  virtual int tree_fd(bool make) = 0;
  // Its name in the sandbox directory ("host": the tree is ROOT/host).
  virtual const std::string &tree_name() const = 0;
  // Every absolute name lives in the tree (a recorded trace); else only those it claims.
  virtual bool all_absolute() const = 0;
  // A host file the guest writes gets a copy in the tree (an strace log's replay).
  virtual bool copies_host_writes() const = 0;
  // The tree path of the recorded name `key` (absolute, lexically normal), or null.
  virtual const std::string *redirect(const std::string &key) const = 0;
  virtual bool recorded(const std::string &key) const = 0;
  // The metadata of the file whose inode `st` describes, or null.
  virtual NodeMeta *meta(const struct stat &st) = 0;
  virtual void set_meta(const struct stat &st, NodeMeta m) = 0;
  virtual void drop_meta(const struct stat &st) = 0;
  // The identity of the next unnamed file O_TMPFILE makes in the recorded directory `dir`.
  virtual bool take_tmpfile(const std::string &dir, NodeMeta *out) = 0;
  // The name `key` was removed (with everything below it when `dir`).
  virtual void forget(const std::string &key, bool dir) = 0;
  // The name `key` now names the file at `tree_path`.
  virtual void bind(const std::string &key, const std::string &tree_path) = 0;
};

}  // namespace vmspace
