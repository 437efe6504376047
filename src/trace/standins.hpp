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
#include "file/overlay.hpp"
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

class StandinTree : public Overlay {
 public:
  // root_fd: the sandbox directory (the tree is its subdirectory "host"); quota: the
  // sandbox's, which every stand-in is charged to. `all_absolute`: a recorded trace's replay
  // (a path it did not record does not exist); `copy_host_writes`: an strace log's replay.
  StandinTree(int root_fd, SandboxQuota &quota, bool all_absolute, bool copy_host_writes)
      : root_fd_(root_fd),
        quota_(quota),
        all_absolute_(all_absolute),
        copy_host_writes_(copy_host_writes) {}

  // Overlay
  int tree_fd(bool make) override;
  const std::string &tree_name() const override { return name_; }
  bool all_absolute() const override { return all_absolute_; }
  bool copies_host_writes() const override { return copy_host_writes_; }
  const std::string *redirect(const std::string &key) const override;
  bool recorded(const std::string &key) const override { return recorded_.count(key) != 0; }
  NodeMeta *meta(const struct stat &st) override;
  void set_meta(const struct stat &st, NodeMeta m) override {
    meta_[{st.st_dev, st.st_ino}] = std::move(m);
  }
  void drop_meta(const struct stat &st) override { meta_.erase({st.st_dev, st.st_ino}); }
  bool take_tmpfile(const std::string &dir, NodeMeta *out) override;
  void forget(const std::string &key, bool dir) override;
  void bind(const std::string &key, const std::string &tree_path) override {
    recorded_[key] = tree_path;
  }

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

 private:
  int root_fd_;
  SandboxQuota &quota_;
  bool all_absolute_, copy_host_writes_;
  const std::string name_ = "host";
  UniqueFd tree_;
  std::map<std::string, std::string> recorded_;  // recorded name -> tree path
  std::map<std::pair<uint64_t, uint64_t>, NodeMeta> meta_;
  std::map<std::string, std::vector<NodeMeta>> tmpfiles_;  // directory -> unnamed files, in order
};

}  // namespace vmspace
