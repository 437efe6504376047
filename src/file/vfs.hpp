// Vfs: how guest paths reach host files, inside the sandbox.
//
// A guest path is looked up in one of three trees, each with its own root:
//   sandbox   the sandbox directory ROOT: relative paths (from the working directory or a
//             descriptor of a directory in it) and absolute paths that name ROOT. Writable.
//   standins  ROOT/host, the stand-in tree of a replay (standins.hpp): absolute paths the
//             trace recorded, and in a replay of a recorded trace every absolute path.
//   host      the host's own files (absolute paths elsewhere), read-only: anything that
//             could change them (write access, O_CREAT, O_TRUNC, O_TMPFILE, unlink, rename,
//             link) is refused with EACCES and a message for the user, or, in an strace
//             replay, done to a stand-in copy made in the stand-in tree.
// The sandbox and stand-in trees are searched as a chroot would search them (confined.hpp):
// no path, link or ".." leads out of them, and no name is resolved twice. Device nodes are
// never opened on the host: a device opens as a virtual one (InodeCache::device) with the
// node's identity, and FIFOs open without blocking.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/ref.hpp"
#include "file/confined.hpp"
#include "file/inode.hpp"
#include "file/standins.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

class Vfs {
 public:
  struct Options {
    bool allow_host_read = true;       // host files may be opened read-only
    bool standin_host_writes = false;  // writes to host files go to stand-in copies
    bool recorded_only = false;        // absolute paths exist only in the stand-in tree
    SandboxLimits limits;
  };
  // `root` is the sandbox directory (it must exist).
  Vfs(InodeCache &inodes, const std::string &root, Options opts);
  Vfs(const Vfs &) = delete;
  Vfs &operator=(const Vfs &) = delete;

  // Opens `path` relative to the host directory descriptor base_fd (-1: the sandbox root).
  // `privileged` false applies an ordinary user's permission checks. On a sandbox refusal,
  // *violation describes it.
  Result<Ref<OpenFile>> open(int base_fd, std::string_view path, uint64_t flags, uint64_t mode,
                             bool privileged, std::string *violation);

  // unlink (rmdir with `dir`) of `path` relative to base_fd.
  Result<void> unlink(int base_fd, std::string_view path, bool dir, bool privileged,
                      std::string *violation);
  // link (renameat2 with `rename`, its flags) of old_path to new_path, each relative to its
  // base, with the same limits as unlink.
  Result<void> link_or_rename(int old_base, std::string_view old_path, int new_base,
                              std::string_view new_path, bool rename, unsigned flags,
                              bool privileged, std::string *violation);

  // A recorded host file (replay): see StandinTree::add.
  bool add_recorded_file(const RecordedFile &r, std::string *error) {
    return standins_.add(r, error);
  }
  bool write_recorded_bytes(const std::string &path, uint64_t offset, const std::string &bytes,
                            std::string *error) {
    return standins_.write_bytes(path, offset, bytes, error);
  }

  // @file: makes (or replaces) the sandbox file `path` (relative, or absolute inside the
  // sandbox) with `content`, or zero-filled with `size` bytes when content is null. The
  // setuid, setgid and sticky bits of `mode` are kept as metadata only.
  bool make_file(const std::string &path, const std::string *content, uint64_t size, uint32_t mode,
                 std::string *error);
  // Sets the size of the sandbox file behind f (@fdsize); EPERM for files outside it.
  Result<void> resize(const OpenFile &f, uint64_t size);

  // The setuid, setgid and sticky bits the guest sees for f (the host file never has them).
  uint32_t special_bits(const OpenFile &f);

  // A fresh open of the virtual /dev/null (standard descriptors, placeholders).
  Ref<OpenFile> null_device();

  // Absolute host path of the sandbox.
  const std::string &root() const { return root_; }
  int root_fd() const { return root_fd_.get(); }

 private:
  enum class Tree : uint8_t { sandbox, standins, host };
  // Where a guest path is looked up: from `base` (a tree's root, or a host directory) along
  // `path`, within `scope`. `key` is the lexically normal absolute form of an absolute path.
  struct Lookup {
    Tree tree = Tree::sandbox;
    int base = -1;
    std::string path;
    confined::Scope scope = confined::Scope::in_root;
    std::string key;
    bool recorded = false;  // the path is a name the trace recorded
  };
  Result<Lookup> where(int base_fd, const std::string &path);
  // The stand-in tree's lookup for a host path an strace replay writes (a copy of the host
  // file made on first write when `make`).
  Result<Lookup> host_standin(const Lookup &host, bool make, uint64_t flags);
  // Opens along a lookup in the sandbox or stand-in tree (or the host tree for reads).
  Result<Ref<OpenFile>> open_in(const Lookup &l, uint64_t flags, uint64_t mode, bool privileged);
  // The name a lookup ends in, for unlink/rename/link; `create`: the name may be new.
  Result<confined::Parent> name_of(const Lookup &l, bool create, std::string *violation);
  Ref<OpenFile> device_file(const struct stat &st, const StandinTree::Meta *m,
                            const std::string &shown, uint64_t flags);
  void show_as(OpenFile &f, Tree tree, const StandinTree::Meta *m) const;
  // A file made in the sandbox: its setuid, setgid and sticky bits (of `mode`) as metadata.
  void note_special(const struct stat &st, uint32_t mode);
  bool under_root(const std::string &path, std::string *rest) const;

  InodeCache &inodes_;
  std::string root_;
  UniqueFd root_fd_;
  UniqueFd host_root_fd_;  // "/" of the host
  Options opts_;
  StandinTree standins_;
};

}  // namespace vmspace
