// Confined path resolution: every name a guest, script or trace gives is looked up in a
// directory tree that it cannot leave, the way a chroot would look it up.
//
// Synopsis
//   open_at(base, path, flags, mode, scope)  openat2(2): Scope::in_root treats `base` as "/"
//                                            (absolute paths and absolute link targets start
//                                            there, ".." stops there: RESOLVE_IN_ROOT);
//                                            Scope::host resolves as the host does. Both
//                                            refuse magic links (/proc/PID/fd/N) with ELOOP.
//   parent_of(base, path, scope)             the directory holding path's last component,
//                                            open, and that component: for unlink, rename,
//                                            link, mkdir, symlink, which act on a name in a
//                                            directory descriptor and never follow it
//   make_dirs(root, path, mode)              mkdir -p inside a root
//   remove_tree(dir, name)                   rm -rf that never follows a link and keeps its
//                                            depth (and open descriptors) bounded
//   path_of(fd)                              the host path of a descriptor
//
// No lookup here resolves a name once and opens it again later: every step acts on a
// descriptor of the step before, so a link swapped in between cannot redirect it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/unique_fd.hpp"
#include "vmspace/result.hpp"

namespace vmspace::confined {

enum class Scope : uint8_t { in_root, host };

// openat2(base, path, {flags | O_CLOEXEC, mode}, resolve). `flags` keeps only the bits
// open(2) knows (openat2 refuses others) and `mode` only with O_CREAT or O_TMPFILE, as
// open(2) ignores them. A rename racing with an in-root lookup (EAGAIN) is retried.
Result<UniqueFd> open_at(int base_fd, std::string_view path, uint64_t flags, mode_t mode,
                         Scope scope);

// `path` split as the kernel splits it for calls that act on a name: the directory part
// ("" for the base directory itself, "/" for the root) and the last component with its
// trailing slashes ("b/" in "a/b/"). The last component is empty when the path is only
// slashes (the root).
void split_last(std::string_view path, std::string *dir, std::string *last);

struct Parent {
  UniqueFd dir;      // O_PATH descriptor of the directory
  std::string name;  // the last component, trailing slashes kept; empty for the root
};
// The directory that holds `path`'s last component, resolved within `scope`.
Result<Parent> parent_of(int base_fd, std::string_view path, Scope scope);

// Makes every missing directory of `path` inside the tree rooted at root_fd (links along it
// are followed inside the root) with `mode`. Returns an O_PATH descriptor of the last one.
Result<UniqueFd> make_dirs(int root_fd, std::string_view path, mode_t mode);

// Removes `name` in dir_fd and, if it is a directory, everything below it. Links are removed,
// never followed; subtrees deeper than a fixed depth are first moved up next to `name`, so
// neither the recursion nor the open descriptors grow with the tree's depth. False when
// something could not be removed.
bool remove_tree(int dir_fd, const std::string &name);

// The path /proc/self/fd/FD names ("" when it has none).
std::string path_of(int fd);

// An absolute path in lexically normal form without a trailing slash ("/a/../b/" -> "/b"):
// the key under which a trace records a name.
std::string normal_key(const std::string &path);

}  // namespace vmspace::confined
