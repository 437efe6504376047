// SandboxFs: the default FileSystem (vmspace/filesystem.hpp): how guest paths reach host
// files, inside the sandbox.
//
// A guest path is looked up in one of three trees, each with its own root:
//   sandbox   the sandbox directory ROOT: relative paths (from the root or a descriptor of a
//             directory in it) and absolute paths that name ROOT. Writable.
//   overlay   ROOT/NAME, a tree an Overlay adds (overlay.hpp; a replay's stand-ins): the
//             absolute names it claims, or every absolute name when it says so. Writable.
//   host      the host's own files (other absolute paths), read-only: anything that could
//             change them (write access, O_CREAT, O_TRUNC, O_TMPFILE, unlink, rename, link)
//             is refused with EACCES and a violation message, or, when the overlay copies host
//             writes, done to a copy made in the overlay.
// The sandbox and overlay trees are searched as a chroot would search them (confined.hpp):
// no path, link or ".." leads out of them, and no name is resolved twice. Device nodes are
// never opened on the host: a device opens as a virtual one (FileView::device) with the
// node's identity, and FIFOs open without blocking. Setuid, setgid and sticky bits of files
// made in the sandbox are kept as metadata (special_bits), never on the host file.
// Thread safety: one mutex serialises the operations (opening files is not a hot path).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "base/mutex.hpp"
#include "base/unique_fd.hpp"
#include "file/confined.hpp"
#include "file/overlay.hpp"
#include "vmspace/filesystem.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

class SandboxFs : public FileSystem {
 public:
  explicit SandboxFs(const SandboxOptions &o);
  SandboxFs(const SandboxFs &) = delete;
  SandboxFs &operator=(const SandboxFs &) = delete;

  Result<OpenedFile> open(int dir_fd, std::string_view path, uint64_t flags, uint32_t mode,
                          bool privileged) override;
  Result<void> unlink(int dir_fd, std::string_view path, bool dir, bool privileged) override;
  Result<void> link_or_rename(int old_dir_fd, std::string_view old_path, int new_dir_fd,
                              std::string_view new_path, bool rename, unsigned flags,
                              bool privileged) override;
  std::string take_violation() override;

  // The overlay tree (not owned; it must outlive this file system).
  void set_overlay(Overlay *o) {
    MutexLock g(mu_);
    overlay_ = o;
  }

  // @file: makes (or replaces) the sandbox file `path` (relative, or absolute inside the
  // sandbox) with `content`, or zero-filled with `size` bytes when content is null. The
  // setuid, setgid and sticky bits of `mode` are kept as metadata only.
  bool make_file(const std::string &path, const std::string *content, uint64_t size, uint32_t mode,
                 std::string *error);
  // Sets the size of the sandbox file open as host_fd (@fdsize); EPERM for files outside it.
  Result<void> resize(int host_fd, uint64_t size);
  // The setuid, setgid and sticky bits the guest sees for the file open as host_fd.
  uint32_t special_bits(int host_fd);

  SandboxQuota &quota() { return quota_; }
  // Held by every operation (lookups, the overlay, metadata, quota); an overlay's owner holds
  // it too while it changes the overlay.
  Mutex &mutex() VMS_RETURN_CAPABILITY(mu_) { return mu_; }
  // Absolute host path of the sandbox, and a descriptor of it.
  const std::string &root() const { return root_; }
  int root_fd() const { return root_fd_.get(); }

 private:
  enum class Tree : uint8_t { sandbox, overlay, host };
  // Where a guest path is looked up: from `base` (a tree's root, or a host directory) along
  // `path`, within `scope`. `key` is the lexically normal absolute form of an absolute path.
  struct Lookup {
    Tree tree = Tree::sandbox;
    int base = -1;
    std::string path;
    confined::Scope scope = confined::Scope::in_root;
    std::string key;
    bool recorded = false;  // the path is a name the overlay claims
  };
  // The private functions below run with mu_ held.
  Result<Lookup> where(int base_fd, const std::string &path) VMS_REQUIRES(mu_);
  // The overlay's lookup for a host path the guest writes (a copy of the host file made on
  // first write when `make`).
  Result<Lookup> host_copy(const Lookup &host, bool make, uint64_t flags) VMS_REQUIRES(mu_);
  // Opens along a lookup.
  Result<OpenedFile> open_in(const Lookup &l, uint64_t flags, uint32_t mode, bool privileged)
      VMS_REQUIRES(mu_);
  // The name a lookup ends in, for unlink/rename/link; `create`: the name may be new.
  Result<confined::Parent> name_of(const Lookup &l, bool create) VMS_REQUIRES(mu_);
  OpenedFile device_file(const struct stat &st, const NodeMeta *m, const std::string &host_path)
      VMS_REQUIRES(mu_);
  void show_as(FileView &v, Tree tree, const NodeMeta *m) const VMS_REQUIRES(mu_);
  // A file made in the sandbox: its setuid, setgid and sticky bits (of `mode`) as metadata.
  void note_special(const struct stat &st, uint32_t mode) VMS_REQUIRES(mu_);
  NodeMeta *meta_of(const struct stat &st) VMS_REQUIRES(mu_);
  void forget_meta(const struct stat &st) VMS_REQUIRES(mu_);
  bool under_root(const std::string &path, std::string *rest) const;
  int overlay_fd(bool make) VMS_REQUIRES(mu_);
  void report(std::string msg);

  Mutex mu_;
  std::string root_;
  UniqueFd root_fd_;
  UniqueFd host_root_fd_;  // "/" of the host
  bool allow_host_read_;
  SandboxQuota quota_;
  Overlay *overlay_ VMS_GUARDED_BY(mu_) = nullptr;
  // sandbox files' special bits
  std::map<std::pair<uint64_t, uint64_t>, NodeMeta> special_ VMS_GUARDED_BY(mu_);
  Mutex violation_mu_;
  std::string violation_ VMS_GUARDED_BY(violation_mu_);
};

}  // namespace vmspace
