// Confined path resolution. See confined.hpp.
#include "file/confined.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

namespace vmspace::confined {

namespace {
// The flags open(2) knows (Linux: VALID_OPEN_FLAGS); openat2 refuses any other bit.
constexpr uint64_t kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                     O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE |
                                     O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH |
                                     O_TMPFILE | O_SYNC;
// With O_PATH, open(2) drops everything but these (openat2 would refuse them).
constexpr uint64_t kPathFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// A rename elsewhere in the tree makes an in-root lookup give up with EAGAIN.
constexpr int kRaceRetries = 16;
// Subtrees deeper than this are moved up before they are removed.
constexpr int kRemoveDepth = 32;
}  // namespace

Result<UniqueFd> open_at(int base_fd, std::string_view path, uint64_t flags, mode_t mode,
                         Scope scope) {
  if (path.empty()) return fail(Errno::noent);
  if (path.size() >= PATH_MAX) return fail(Errno::nametoolong);
  if (path.find('\0') != std::string_view::npos) return fail(Errno::noent);
  const std::string p(path);
  struct open_how how {};
  flags &= kValidOpenFlags;
  if (flags & O_PATH) flags &= kPathFlags;
  how.flags = flags | O_CLOEXEC;
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) how.mode = mode & 07777;
  how.resolve = RESOLVE_NO_MAGICLINKS | (scope == Scope::in_root ? RESOLVE_IN_ROOT : 0);
  for (int attempt = 0;; attempt++) {
    const long fd = ::syscall(SYS_openat2, base_fd, p.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno != EAGAIN || attempt >= kRaceRetries) return fail(static_cast<Errno>(errno));
  }
}

void split_last(std::string_view path, std::string *dir, std::string *last) {
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') end--;
  if (end == 0) {
    // Only slashes (or nothing): the root, or the base itself.
    dir->assign(path.empty() ? 0 : 1, '/');
    last->clear();
    return;
  }
  const size_t slash = path.rfind('/', end - 1);
  if (slash == std::string_view::npos) {
    dir->clear();
    *last = std::string(path);
    return;
  }
  size_t dir_end = slash;
  while (dir_end > 0 && path[dir_end - 1] == '/') dir_end--;
  if (dir_end == 0)
    dir->assign(1, '/');
  else
    dir->assign(path.substr(0, dir_end));
  *last = std::string(path.substr(slash + 1));
}

Result<Parent> parent_of(int base_fd, std::string_view path, Scope scope) {
  if (path.empty()) return fail(Errno::noent);
  if (path.size() >= PATH_MAX) return fail(Errno::nametoolong);
  Parent p;
  std::string dir;
  split_last(path, &dir, &p.name);
  Result<UniqueFd> fd = open_at(base_fd, dir.empty() ? "." : dir, O_PATH | O_DIRECTORY, 0, scope);
  if (!fd) return fail(fd.error());
  p.dir = std::move(*fd);
  return p;
}

Result<UniqueFd> make_dirs(int root_fd, std::string_view path, mode_t mode) {
  if (path.size() >= PATH_MAX) return fail(Errno::nametoolong);
  // Each prefix is looked up from the root again, so that links along the path resolve
  // inside it: O(depth * length), with the length below PATH_MAX.
  size_t pos = 0;
  for (;;) {
    while (pos < path.size() && path[pos] == '/') pos++;
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    const std::string_view prefix = path.substr(0, next);
    const std::string probe = prefix.empty() ? "." : std::string(prefix);
    Result<UniqueFd> fd = open_at(root_fd, probe, O_PATH | O_DIRECTORY, 0, Scope::in_root);
    if (fd.error() == Errno::noent) {
      Result<Parent> parent = parent_of(root_fd, probe, Scope::in_root);
      if (!parent) return fail(parent.error());
      if (::mkdirat(parent->dir.get(), parent->name.c_str(), mode & 0777) != 0 && errno != EEXIST)
        return fail(static_cast<Errno>(errno));
      fd = open_at(root_fd, probe, O_PATH | O_DIRECTORY, 0, Scope::in_root);
    }
    if (!fd) return fail(fd.error());
    if (next >= path.size()) return std::move(*fd);
    pos = next + 1;
  }
}

namespace {
struct Removal {
  int top_fd;  // the tree's top directory: subtrees that are too deep are moved there
  unsigned moved = 0;
  std::vector<std::string> later;  // names in top_fd still to remove
  bool ok = true;
};

void remove_entry(int dir_fd, const std::string &name, int depth, Removal &r);

// Removes everything in the open directory fd.
void clear_dir(int fd, int depth, Removal &r) {
  const int list_fd = ::dup(fd);
  DIR *d = list_fd < 0 ? nullptr : ::fdopendir(list_fd);
  if (!d) {
    if (list_fd >= 0) ::close(list_fd);
    r.ok = false;
    return;
  }
  // Names are taken in batches, so that a huge directory needs bounded memory; a batch that
  // cannot be removed completely ends the listing (it would come back forever).
  std::vector<std::string> names;
  for (;;) {
    names.clear();
    while (names.size() < 4096) {
      errno = 0;
      struct dirent *e = ::readdir(d);
      if (!e) break;
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    if (names.empty()) break;
    for (const std::string &n : names) remove_entry(fd, n, depth, r);
    if (!r.ok) break;
    ::rewinddir(d);
  }
  ::closedir(d);
}

void remove_entry(int dir_fd, const std::string &name, int depth, Removal &r) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) r.ok = false;
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) r.ok = false;
    return;
  }
  if (depth >= kRemoveDepth && dir_fd != r.top_fd) {
    // Moved up into the top directory, to be removed from there with a fresh depth.
    for (;;) {
      char fresh[64];
      std::snprintf(fresh, sizeof fresh, ".vmspace-remove-%u", r.moved++);
      if (::renameat2(dir_fd, name.c_str(), r.top_fd, fresh, RENAME_NOREPLACE) == 0) {
        r.later.emplace_back(fresh);
        return;
      }
      if (errno != EEXIST) {
        r.ok = false;
        return;
      }
    }
  }
  const int fd =
      ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    r.ok = false;
    return;
  }
  // The owner may lack permission to list or change it (a stand-in of a directory with
  // mode 0): give it back.
  (void)::fchmod(fd, (st.st_mode & 07777) | S_IRWXU);
  clear_dir(fd, depth + 1, r);
  ::close(fd);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) r.ok = false;
}
}  // namespace

bool remove_tree(int dir_fd, const std::string &name) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return ::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT;
  UniqueFd top(
      ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!top) return false;
  (void)::fchmod(top.get(), (st.st_mode & 07777) | S_IRWXU);
  Removal r{top.get(), 0, {}, true};
  clear_dir(top.get(), 1, r);
  while (r.ok && !r.later.empty()) {
    const std::string n = std::move(r.later.back());
    r.later.pop_back();
    remove_entry(top.get(), n, 1, r);
  }
  top.reset();
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return false;
  return r.ok;
}

std::string path_of(int fd) {
  char link[64], buf[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

std::string normal_key(const std::string &path) {
  std::string k = std::filesystem::path(path).lexically_normal().string();
  while (k.size() > 1 && k.back() == '/') k.pop_back();
  return k;
}

}  // namespace vmspace::confined
