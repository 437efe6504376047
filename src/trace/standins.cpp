// The stand-in tree of a replay. See standins.hpp.
#include "trace/standins.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "file/confined.hpp"

namespace vmspace {

namespace {
using confined::Scope;

using confined::normal_key;

std::string errno_text(int e) { return std::strerror(e); }
}  // namespace

int StandinTree::tree_fd(bool make) {
  if (tree_) return tree_.get();
  Result<UniqueFd> fd =
      confined::open_at(root_fd_, name_, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, Scope::in_root);
  if (fd.error() == Errno::noent && make) {
    if (::mkdirat(root_fd_, name_.c_str(), 0755) != 0 && errno != EEXIST) return -1;
    fd = confined::open_at(root_fd_, name_, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, Scope::in_root);
  }
  if (!fd) return -1;
  tree_ = std::move(*fd);
  return tree_.get();
}

const std::string *StandinTree::redirect(const std::string &key) const {
  auto it = recorded_.find(key);
  return it == recorded_.end() ? nullptr : &it->second;
}

NodeMeta *StandinTree::meta(const struct stat &st) {
  auto it = meta_.find({st.st_dev, st.st_ino});
  return it == meta_.end() ? nullptr : &it->second;
}

bool StandinTree::take_tmpfile(const std::string &dir, NodeMeta *out) {
  auto it = tmpfiles_.find(dir);
  if (it == tmpfiles_.end() || it->second.empty()) return false;
  *out = it->second.front();
  it->second.erase(it->second.begin());
  return true;
}

void StandinTree::forget(const std::string &key, bool dir) {
  recorded_.erase(key);
  if (!dir) return;
  // Names recorded under a removed directory are gone with it.
  const std::string below = key == "/" ? "/" : key + "/";
  for (auto it = recorded_.lower_bound(below);
       it != recorded_.end() && it->first.compare(0, below.size(), below) == 0;)
    it = recorded_.erase(it);
}

bool StandinTree::add(const RecordedFile &r, std::string *error) {
  if (r.path.empty() || r.path[0] != '/' || r.path.size() >= PATH_MAX ||
      r.path.find('\0') != std::string::npos) {
    *error = "a recorded file needs an absolute path shorter than PATH_MAX";
    return false;
  }
  const std::string key = normal_key(r.path);
  const std::string deleted = " (deleted)";
  const uint32_t type = r.mode & S_IFMT;
  const size_t slash = key.rfind('/');
  if (slash != std::string::npos && key.compare(slash, 2, "/#") == 0 && r.shown == key + deleted) {
    // An O_TMPFILE file of the directory DIR ("DIR/#INODE"): identity for a later open.
    if (!quota_.charge_file()) {
      *error = "too many recorded files (the sandbox holds at most " +
               std::to_string(quota_.max_files()) + ")";
      return false;
    }
    NodeMeta m;
    m.shown = key;
    m.dev = r.dev;
    m.ino = r.ino;
    tmpfiles_[slash ? key.substr(0, slash) : "/"].push_back(std::move(m));
    return true;
  }
  // Where the host had the file (its links resolved), unless that is no path.
  const bool real = !r.shown.empty() && r.shown[0] == '/' && r.shown.size() < PATH_MAX &&
                    r.shown.find(deleted) == std::string::npos &&
                    r.shown.find('\0') == std::string::npos;
  const std::string tree_path = real ? normal_key(r.shown) : key;
  const int top = tree_fd(true);
  if (top < 0) {
    *error = "cannot make the stand-in tree: " + errno_text(errno);
    return false;
  }
  auto cannot = [&](const std::string &why) {
    *error = "cannot make a stand-in for " + r.path + ": " + why;
    return false;
  };
  NodeMeta m;
  m.shown = real ? tree_path : r.shown.empty() ? key : r.shown;
  m.strip = real;
  m.dev = r.dev;
  m.ino = r.ino;
  m.existing = r.existing || type == S_IFDIR;
  m.special = r.mode & (S_ISUID | S_ISGID | S_ISVTX);
  m.device = type == S_IFCHR || type == S_IFBLK;
  m.block = type == S_IFBLK;
  m.rdev = r.rdev;
  m.open_error = r.open_error;

  struct stat st {};
  if (tree_path == "/") {
    // The recorded root directory is the tree itself.
    if (type != S_IFDIR) return cannot("the root is a directory");
    // (An O_PATH descriptor cannot be chmod-ed itself: through /proc/self/fd.)
    const std::string self = "/proc/self/fd/" + std::to_string(top);
    (void)::chmod(self.c_str(), static_cast<mode_t>((r.mode & 0777) | S_IRWXU));
    if (::fstat(top, &st) != 0) return cannot(errno_text(errno));
    meta_[{st.st_dev, st.st_ino}] = std::move(m);
    recorded_[key] = tree_path;
    return true;
  }
  std::string dir, name;
  confined::split_last(tree_path, &dir, &name);
  Result<UniqueFd> parent = confined::make_dirs(top, dir, 0755);
  if (!parent) return cannot(errno_text(static_cast<int>(parent.error())));
  const int pfd = parent->get();
  const char *n = name.c_str();

  // The host's file at this path may have been replaced by one of another type since the
  // stand-in was made (a directory removed and a file made with its name).
  struct stat old {};
  const bool have = ::fstatat(pfd, n, &old, AT_SYMLINK_NOFOLLOW) == 0;
  const bool old_regular = have && S_ISREG(old.st_mode);
  const bool want_regular = !(type == S_IFDIR || type == S_IFIFO || type == S_IFLNK);
  if (have && (S_ISDIR(old.st_mode) != (type == S_IFDIR) || S_ISLNK(old.st_mode) ||
               S_ISFIFO(old.st_mode) != (type == S_IFIFO) || old_regular != want_regular ||
               (type == S_IFLNK && !r.link_target.empty()))) {
    meta_.erase({old.st_dev, old.st_ino});
    if (!confined::remove_tree(pfd, name)) return cannot("the old stand-in stays");
  }
  const bool fresh = !have || !(::fstatat(pfd, n, &old, AT_SYMLINK_NOFOLLOW) == 0);
  if (fresh && !quota_.charge_file())
    return cannot("too many recorded files (the sandbox holds at most " +
                  std::to_string(quota_.max_files()) + ")");

  if (type == S_IFLNK && !r.link_target.empty()) {
    if (r.link_target.size() >= PATH_MAX || r.link_target.find('\0') != std::string::npos)
      return cannot("the link target is no path");
    // The target is kept as recorded: it resolves inside the tree (see above).
    if (::symlinkat(r.link_target.c_str(), pfd, n) != 0) return cannot(errno_text(errno));
  } else if (type == S_IFDIR) {
    if (::mkdirat(pfd, n, 0700) != 0 && errno != EEXIST) return cannot(errno_text(errno));
    UniqueFd d(::openat(pfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    // The owner (the replay) keeps the right to make stand-ins inside; the guest's
    // permission checks read the other bits.
    if (!d || ::fchmod(d.get(), static_cast<mode_t>((r.mode & 0777) | S_IRWXU)) != 0)
      return cannot(errno_text(errno));
  } else if (type == S_IFIFO) {
    // A FIFO stays one (opened without blocking, and not mappable, like the host's).
    if (::mkfifoat(pfd, n, static_cast<mode_t>(r.mode & 0777)) != 0 && errno != EEXIST)
      return cannot(errno_text(errno));
  } else {
    // A regular file (sparse, with the recorded size); a device, socket, or a link the
    // program only removed or renamed stands in as an empty one.
    UniqueFd f(::openat(pfd, n, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                        0600));
    if (!f || ::fstat(f.get(), &st) != 0) return cannot(errno_text(errno));
    if (!S_ISREG(st.st_mode)) return cannot("the stand-in is not a regular file");
    const bool plain = type == 0 || type == S_IFREG;
    if (r.size > static_cast<uint64_t>(INT64_MAX)) return cannot("the size is out of range");
    if (::ftruncate(f.get(), static_cast<off_t>(plain ? r.size : 0)) != 0 ||
        ::fchmod(f.get(), static_cast<mode_t>(r.mode & 0777)) != 0)
      return cannot(errno_text(errno));
  }
  if (::fstatat(pfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) return cannot(errno_text(errno));
  meta_[{st.st_dev, st.st_ino}] = std::move(m);
  recorded_[key] = tree_path;
  return true;
}

bool StandinTree::write_bytes(const std::string &path, uint64_t offset, const std::string &bytes,
                              std::string *error) {
  const std::string *tree_path =
      path.empty() || path[0] != '/' ? nullptr : redirect(normal_key(path));
  if (!tree_path) {
    *error = path + " is not a recorded file (@hostfile first)";
    return false;
  }
  const int top = tree_fd(false);
  Result<UniqueFd> file =
      top < 0 ? Result<UniqueFd>(fail(Errno::noent))
              : confined::open_at(top, *tree_path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0,
                                  Scope::in_root);
  if (!file) {
    *error = "cannot write the recorded bytes of " + path + ": " +
             errno_text(static_cast<int>(file.error()));
    return false;
  }
  const int f = file->get();
  struct stat st {};
  const NodeMeta *m = ::fstat(f, &st) == 0 ? meta(st) : nullptr;
  if (!S_ISREG(st.st_mode) || (m && m->device)) {
    *error = "@hostdata: " + path + " is not a regular file";
    return false;
  }
  if (offset > static_cast<uint64_t>(INT64_MAX) - bytes.size()) {
    *error = "@hostdata: the offset is out of range";
    return false;
  }
  if (!quota_.charge_bytes(bytes.size())) {
    *error = "@hostdata: the sandbox holds at most " + std::to_string(quota_.max_bytes()) +
             " bytes of recorded data";
    return false;
  }
  if (::pwrite(f, bytes.data(), bytes.size(), static_cast<off_t>(offset)) !=
      static_cast<ssize_t>(bytes.size())) {
    *error = "cannot write the recorded bytes of " + path + ": " + errno_text(errno);
    return false;
  }
  return true;
}

bool StandinTree::add_builtin_devices(std::string *error) {
  // The memory devices (Linux: drivers/char/mem.c), shown as a devtmpfs (00:05) has them.
  struct Dev {
    const char *path;
    unsigned minor;
  };
  for (const Dev &d : {Dev{"/dev/null", 3}, Dev{"/dev/zero", 5}, Dev{"/dev/full", 7},
                       Dev{"/dev/random", 8}, Dev{"/dev/urandom", 9}}) {
    RecordedFile r;
    r.path = r.shown = d.path;
    r.mode = S_IFCHR | 0666;
    r.dev = makedev(0, 5);
    r.ino = d.minor;
    r.existing = true;
    r.rdev = makedev(1, d.minor);
    if (!add(r, error)) return false;
  }
  return true;
}

}  // namespace vmspace
