// Vfs: how guest paths reach host files, inside the sandbox.
//
// Relative paths resolve in the sandbox directory (the guest's working directory) or in the
// directory behind a dirfd; absolute paths are host paths. Host files outside the sandbox may
// be opened read-only; anything that could change them (write access, O_CREAT, O_TRUNC) is
// refused with EACCES and a message for the user (take_violation).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/ref.hpp"
#include "file/inode.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

struct SystemState;

class Vfs {
 public:
  Vfs(InodeCache &inodes, std::string root, bool allow_host_read, bool standin_char_devices = false,
      bool standin_host_writes = false, bool recorded_only = false);
  ~Vfs();
  Vfs(const Vfs &) = delete;
  Vfs &operator=(const Vfs &) = delete;

  // Opens `path` relative to the host directory descriptor base_fd (-1: the sandbox root).
  // `privileged` false applies an ordinary user's permission checks. On a sandbox refusal,
  // *violation describes it.
  Result<Ref<OpenFile>> open(int base_fd, std::string_view path, uint64_t flags, uint64_t mode,
                             bool privileged, std::string *violation);

  // unlink (rmdir with `dir`) of `path` relative to base_fd: only files inside the sandbox
  // (stand-ins included) can go; others are refused with *violation.
  Result<void> unlink(int base_fd, std::string_view path, bool dir, bool privileged,
                      std::string *violation);
  // link (renameat2 with `rename`, its flags) of old_path to new_path, each relative to its
  // base, with the same limits as unlink.
  Result<void> link_or_rename(int old_base, std::string_view old_path, int new_base,
                              std::string_view new_path, bool rename, unsigned flags,
                              bool privileged, std::string *violation);

  // A recorded host file (replay): opens of `path` get a sparse stand-in in the sandbox with
  // that size and mode, shown in maps as `shown` with device `dev` and inode `ino`; the host
  // file itself is never opened. The stand-in sits at ROOT/host/SHOWN, so that a recorded
  // directory's stand-in holds the stand-ins of the files opened relative to it. `mode` with
  // S_IFDIR makes a directory; without a file type, a regular file. False with *error when
  // the stand-in cannot be made.
  // `existing`: the name existed before the call that follows (an O_EXCL open of it fails);
  // otherwise the next open is the one that made it. A symbolic link (S_IFLNK with
  // `link_target`) becomes a link in the stand-in tree (an absolute target points into it).
  bool add_recorded_file(const std::string &path, uint64_t size, uint32_t mode, uint64_t dev,
                         uint64_t ino, const std::string &shown, bool existing,
                         const std::string &link_target, std::string *error);
  // Writes recorded bytes (an ELF header, a "#!" line) into a recorded file's stand-in.
  bool write_recorded_bytes(const std::string &path, uint64_t offset, const std::string &bytes,
                            std::string *error);

  // Absolute host path of the sandbox.
  const std::string &root() const { return root_; }
  int root_fd() const { return root_fd_; }
  // Is this host path (resolved) inside the sandbox?
  bool inside(const std::string &resolved) const;

 private:
  InodeCache &inodes_;
  std::string root_;
  int root_fd_ = -1;
  bool allow_host_read_;
  bool standin_char_devices_ = false;
  bool standin_host_writes_ = false;
  bool recorded_only_ = false;  // host paths the trace did not record do not exist
  // Stand-ins made so far: the host file each stands in for (path, device, inode; device and
  // inode 0 for a file the program created).
  struct Standin {
    std::string host_path;
    uint64_t dev = 0, ino = 0;
    bool existing = false;  // not made by the recorded program's next open
  };
  std::map<std::string, Standin> standins_;
  // Recorded host files: the path the program opened -> its stand-in (absolute).
  std::map<std::string, std::string> recorded_;
  // Unnamed files O_TMPFILE made in a recorded directory (its path -> the file's identity,
  // shown as DIR/#INODE), in the order they were made.
  std::map<std::string, std::vector<Standin>> tmpfiles_;

  void show_as(OpenFile &f, const std::string &stand, const Standin &sd) const;
  // The host path in the sandbox for the guest name `path` (recorded stand-ins, sandbox files,
  // stand-ins of host files); `create`: the name may be new. *key: the normalized path when
  // absolute. Names outside the sandbox are refused with *violation.
  Result<std::string> name_in_sandbox(int base_fd, const std::string &path, bool create,
                                      std::string *key, std::string *violation);
};

}  // namespace vmspace
