// vmspace — the file system a System's processes see.
//
// Synopsis
//   FileSystem          turns guest names into host files: open, unlink, link, rename
//   OpenedFile          what an open gives back: a host descriptor (owned by vmspace from then
//                       on) and what the guest is shown of it (FileView)
//   FileView            the identity to show instead of the host file's own (a replay's
//                       stand-ins), or a device that is never opened on the host
//   make_sandbox_fs()   the default: a sandbox directory for relative names (searched as a
//                       chroot would search it), the host's files read-only for absolute names
//
// A System is given a FileSystem (System(cfg, fs)) or makes the default from its
// SystemConfig (root_dir, allow_host_read, max_sandbox_files, max_sandbox_bytes). vmspace
// asks it only for names; it keeps descriptors, inodes and mappings itself.
//
// Example: a file system that serves every name from one directory
//   auto fs = vmspace::make_sandbox_fs({"/srv/guest-root", false});
//   vmspace::System sys(cfg, std::move(fs));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vmspace/result.hpp"

namespace vmspace {

// What the guest is shown of an opened file instead of the host file itself.
struct FileView {
  // A device node, never opened on the host (host_fd is -1): its device number. /dev/zero
  // (1:5) maps as /dev/zero does; any other device has no mmap (ENODEV).
  bool device = false;
  bool block = false;
  uint32_t rdev_major = 0, rdev_minor = 0;
  // The device and inode numbers maps shows (has_identity), instead of the host file's.
  bool has_identity = false;
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t ino = 0;
  // The path maps shows: `path` when not empty (" (deleted)" is added once the host file has
  // no name left), else the host file's current path without `strip_prefix`.
  std::string path;
  std::string strip_prefix;
};

struct OpenedFile {
  int host_fd = -1;  // owned by vmspace from now on; -1 for a device (view.device)
  FileView view;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // open(2) of `path`, relative to `dir_fd` (a host descriptor this file system gave for a
  // directory) or, with dir_fd -1, to the file system's root directory; absolute paths as
  // the file system defines them. `privileged` false: an ordinary user's permission checks.
  // The open's errno as Linux gives it (ENOENT, ENOTDIR, ELOOP, EACCES, EEXIST, ...).
  virtual Result<OpenedFile> open(int dir_fd, std::string_view path, uint64_t flags, uint32_t mode,
                                  bool privileged) = 0;
  // unlink(2) (rmdir(2) with `dir`) of `path`, relative as for open.
  virtual Result<void> unlink(int dir_fd, std::string_view path, bool dir, bool privileged) = 0;
  // link(2), or renameat2(2) with `rename` and its RENAME_* flags.
  virtual Result<void> link_or_rename(int old_dir_fd, std::string_view old_path, int new_dir_fd,
                                      std::string_view new_path, bool rename, unsigned flags,
                                      bool privileged) = 0;
  // The last refusal made to protect the host (a write to a file outside the sandbox), as a
  // message for the user; empty when there was none. Reading clears it.
  virtual std::string take_violation() { return {}; }
};

// The default file system's settings (the SystemConfig fields of the same names).
struct SandboxOptions {
  std::string root = ".";           // the sandbox directory (it must exist)
  bool allow_host_read = true;      // absolute paths outside the sandbox open read-only
  uint64_t max_files = 1000000;     // files, directories, links and FIFOs made in the sandbox
  uint64_t max_bytes = 1ull << 30;  // bytes written into sandbox files by directives
};

// The default file system: relative paths in the sandbox directory, resolved as a chroot
// would resolve them (no path or link leads out); absolute paths naming the sandbox, likewise;
// other absolute paths are the host's files, read-only (anything that could change one is
// refused with EACCES and a violation message). Device nodes are never opened on the host.
std::unique_ptr<FileSystem> make_sandbox_fs(const SandboxOptions &options);

}  // namespace vmspace
