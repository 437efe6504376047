// Guest path resolution over host files, inside the sandbox. See vfs.hpp.
#include "file/vfs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
std::string real_path_of_fd(int fd) {
  char link[64], buf[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, buf, sizeof buf - 1);
  if (n < 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

// The resolved host path `path` would name relative to base_fd, following symlinks where the
// file exists; for a file that does not exist yet, its resolved directory plus the name.
std::string resolve(int base_fd, const std::string &path) {
  int fd = ::openat(base_fd, path.c_str(), O_PATH | O_CLOEXEC);
  if (fd >= 0) {
    std::string r = real_path_of_fd(fd);
    ::close(fd);
    return r;
  }
  std::string dir = ".", name = path;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  fd = ::openat(base_fd, dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string r = real_path_of_fd(fd);
  ::close(fd);
  return r + "/" + name;
}

// The permission an ordinary user (uid 65534, not the owner) has: the "other" bits.
bool other_may(const struct stat &st, int want) {
  mode_t m = st.st_mode;
  if ((want & 4) && !(m & S_IROTH)) return false;
  if ((want & 2) && !(m & S_IWOTH)) return false;
  if ((want & 1) && !(m & S_IXOTH)) return false;
  return true;
}
}  // namespace

Vfs::Vfs(InodeCache &inodes, std::string root, bool allow_host_read, bool standin_char_devices,
         bool standin_host_writes, bool recorded_only)
    : inodes_(inodes),
      allow_host_read_(allow_host_read),
      standin_char_devices_(standin_char_devices),
      standin_host_writes_(standin_host_writes),
      recorded_only_(recorded_only) {
  char buf[PATH_MAX];
  if (::realpath(root.c_str(), buf)) root_ = buf;
  root_fd_ = ::open(root_.empty() ? "." : root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

Vfs::~Vfs() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

bool Vfs::inside(const std::string &resolved) const {
  if (root_.empty() || resolved.empty()) return false;
  if (resolved == root_) return true;
  return resolved.compare(0, root_.size(), root_) == 0 && resolved.size() > root_.size() &&
         resolved[root_.size()] == '/';
}

Result<Ref<OpenFile>> Vfs::open(int base_fd, std::string_view path_view, uint64_t flags,
                                uint64_t mode, bool privileged, std::string *violation) {
  std::string path(path_view);
  if (path.empty()) return fail(Errno::noent);
  if (base_fd < 0) base_fd = root_fd_;
  const bool is_opath = (flags & lx::o_path) == lx::o_path;
  const uint64_t acc = flags & lx::o_accmode;
  const bool wants_write = !is_opath && (acc == lx::o_wronly || acc == lx::o_rdwr ||
                                         (flags & (lx::o_creat | lx::o_trunc)) ||
                                         (flags & lx::o_tmpfile) == lx::o_tmpfile);

  if (!recorded_.empty() && path[0] == '/') {
    auto rec = recorded_.find(std::filesystem::path(path).lexically_normal().string());
    if (rec != recorded_.end()) {
      const std::string &stand = rec->second;
      // The recorded program's open made the file: its stand-in is there already.
      auto made = standins_.find(stand);
      const bool fresh = made != standins_.end() && !made->second.existing;
      // A symbolic link's stand-in is reached by the path as named, so that the links along
      // it count as they did on the host (ELOOP past 40).
      struct stat ls {};
      const bool link = ::lstat(stand.c_str(), &ls) == 0 && S_ISLNK(ls.st_mode);
      const uint64_t oflags = fresh ? flags & ~(lx::o_creat | lx::o_excl) : flags;
      auto open_it = [&]() -> Result<Ref<OpenFile>> {
        if (link) {
          Result<Ref<OpenFile>> named =
              open(root_fd_, "host" + path, oflags, mode, privileged, violation);
          // (The path's own links may not be in the tree: then the stand-in itself.)
          if (named || named.error() != Errno::noent) return named;
        }
        return open(root_fd_, stand.substr(root_.size() + 1), oflags, mode, privileged, violation);
      };
      Result<Ref<OpenFile>> f = open_it();
      if (!f) return f;
      if (fresh) made->second.existing = true;
      auto tmp = tmpfiles_.find(rec->first);
      if ((flags & lx::o_tmpfile) == lx::o_tmpfile && tmp != tmpfiles_.end() &&
          !tmp->second.empty()) {
        // The unnamed file is the one the recorded program got.
        const Standin sd = tmp->second.front();
        tmp->second.erase(tmp->second.begin());
        (*f)->set_path_override(sd.host_path);
        (*f)->set_identity_override(major(sd.dev), minor(sd.dev), sd.ino);
        return f;
      }
      auto it = standins_.find(stand);
      if (it != standins_.end()) {
        show_as(**f, stand, it->second);
      }
      return f;
    }
  }
  // A recorded trace replays on what it recorded: other host files are not there (devices
  // excepted: they are stood in for below).
  if (recorded_only_ && path[0] == '/' && path.compare(0, 5, "/dev/") != 0) {
    // Not recorded: the open failed when the trace was made (a success is always recorded).
    // The stand-in tree, which mirrors the host's paths, gives the reason: ENOENT, or
    // ENOTDIR where the path runs through a recorded file. Nothing is created.
    if ((flags & lx::o_creat) && path.back() == '/') return fail(Errno::isdir);
    const std::string tree = "host" + path;
    const int probe = ::openat(
        root_fd_, tree.c_str(),
        static_cast<int>(O_PATH | O_CLOEXEC | (flags & (lx::o_directory | lx::o_nofollow))));
    if (probe < 0) return fail(static_cast<Errno>(errno));
    ::close(probe);
    return open(root_fd_, tree,
                flags & ~(lx::o_creat | lx::o_excl | (lx::o_tmpfile & ~lx::o_directory)), mode,
                privileged, violation);
  }
  std::string resolved = resolve(base_fd, path);
  const bool in_sandbox = inside(resolved);
  if (recorded_only_ && !in_sandbox && resolved.compare(0, 5, "/dev/") != 0)
    return fail(Errno::noent);
  // A recorded file's stand-in reached relative to a recorded directory's stand-in.
  const auto recorded_standin = in_sandbox ? standins_.find(resolved) : standins_.end();
  if (recorded_standin != standins_.end() && recorded_standin->second.ino &&
      !recorded_standin->second.existing)
    flags &= ~(lx::o_creat | lx::o_excl);
  // Writing to these devices changes no file.
  const bool harmless_device = resolved == "/dev/null" || resolved == "/dev/zero" ||
                               resolved == "/dev/full" || resolved == "/dev/random" ||
                               resolved == "/dev/urandom";
  if (!in_sandbox && standin_char_devices_ && resolved != "/dev/zero") {
    struct stat st {};
    if (::stat(resolved.c_str(), &st) == 0 && S_ISCHR(st.st_mode)) {
      // The device's own open errors stay (a terminal that is not there: ENXIO).
      int probe = ::open(resolved.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      if (probe < 0) return fail(static_cast<Errno>(errno));
      ::close(probe);
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) return fail(static_cast<Errno>(errno));
      Ref<Inode> inode = inodes_.host(fd);
      if (!inode) {
        ::close(fd);
        return fail(Errno::io);
      }
      return make_ref<OpenFile>(std::move(inode), flags, fd);
    }
  }
  // The stand-in of a host file written before (read back later, by this or another process).
  struct stat ss {};
  const std::string stand = root_ + "/host" + resolved;
  const bool has_standin = standin_host_writes_ && !in_sandbox && !resolved.empty() &&
                           resolved[0] == '/' && ::stat(stand.c_str(), &ss) == 0;
  auto open_standin = [&]() -> Result<Ref<OpenFile>> {
    Result<Ref<OpenFile>> f =
        open(root_fd_, stand.substr(root_.size() + 1), flags, mode, privileged, violation);
    if (!f) return f;
    auto it = standins_.find(stand);
    if (it != standins_.end()) show_as(**f, stand, it->second);
    return f;
  };
  if (has_standin) return open_standin();
  if (!in_sandbox && !harmless_device && wants_write && standin_host_writes_ && !resolved.empty() &&
      resolved[0] == '/') {
    // The stand-in: ROOT/host/PATH, made once with the host file's size (sparse).
    struct stat hs {};
    {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(stand).parent_path(), ec);
      Standin &sd = standins_[stand];
      sd.host_path = resolved;
      if (::stat(resolved.c_str(), &hs) == 0 && S_ISREG(hs.st_mode)) {
        sd.dev = hs.st_dev;
        sd.ino = hs.st_ino;
        int sfd = ::open(stand.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, hs.st_mode & 07777);
        if (sfd >= 0) {
          const int r = ::ftruncate(sfd, hs.st_size);
          ::close(sfd);
          if (r != 0) return fail(static_cast<Errno>(errno));
        }
      }
    }
    return open_standin();
  }
  if (!in_sandbox && !harmless_device) {
    if (wants_write) {
      *violation = "refusing to open " + (resolved.empty() ? path : resolved) +
                   " for writing: it is outside the sandbox " + root_;
      return fail(Errno::acces);
    }
    if (!allow_host_read_) {
      *violation = "refusing to open " + path + ": host files are not allowed";
      return fail(Errno::acces);
    }
  }

  struct stat existing {};
  const bool exists = ::fstatat(base_fd, path.c_str(), &existing, 0) == 0;
  if (!privileged && (flags & lx::o_creat) && !exists) {
    // Creating a file needs write and search permission on its directory.
    std::string dir = ".";
    size_t slash = path.rfind('/');
    if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
    struct stat dst {};
    if (::fstatat(base_fd, dir.c_str(), &dst, 0) == 0 && !other_may(dst, 3))
      return fail(Errno::acces);
  }

  if (!privileged && exists) {
    // An ordinary user (not the owner): the checks of the kernel's open path in their order,
    // ending with the "other" permission bits, before the host (where we are root) opens.
    if ((flags & lx::o_creat) && (flags & lx::o_excl)) return fail(Errno::exist);
    const bool is_dir = S_ISDIR(existing.st_mode);
    if ((flags & lx::o_directory) && !is_dir) return fail(Errno::notdir);
    int want = 0;
    if (!is_opath) {
      if (acc == lx::o_rdonly || acc == lx::o_rdwr) want |= 4;
      if (acc == lx::o_wronly || acc == lx::o_rdwr || (flags & lx::o_trunc)) want |= 2;
    }
    if (is_dir && (want & 2)) return fail(Errno::isdir);
    if (want && !other_may(existing, want)) return fail(Errno::acces);
  }
  // Open on the host with the guest's flags. FIFOs would block on the host: open them
  // non-blocking (a guest open of a FIFO with a peer behaves the same).
  int host_flags = static_cast<int>(flags) | O_CLOEXEC;
  if (exists && S_ISFIFO(existing.st_mode)) host_flags |= O_NONBLOCK;
  int fd = ::openat(base_fd, path.c_str(), host_flags, static_cast<mode_t>(mode));
  if (fd < 0) return fail(static_cast<Errno>(errno));
  Ref<Inode> inode = inodes_.host(fd);
  if (!inode) {
    int e = errno;
    ::close(fd);
    return fail(static_cast<Errno>(e));
  }
  Ref<OpenFile> f = make_ref<OpenFile>(std::move(inode), flags, fd);
  if (recorded_standin != standins_.end()) show_as(*f, resolved, recorded_standin->second);
  return f;
}

bool Vfs::add_recorded_file(const std::string &path, uint64_t size, uint32_t mode, uint64_t dev,
                            uint64_t ino, const std::string &shown, bool existing,
                            const std::string &link_target, std::string *error) {
  if (path.empty() || path[0] != '/') {
    *error = "a recorded file needs an absolute path";
    return false;
  }
  const std::string key = std::filesystem::path(path).lexically_normal().string();
  const std::string deleted = " (deleted)";
  const size_t slash = key.rfind('/');
  if (slash != std::string::npos && key.compare(slash, 2, "/#") == 0 && shown == key + deleted) {
    // An O_TMPFILE file of the directory DIR ("DIR/#INODE"): identity for a later open.
    tmpfiles_[slash ? key.substr(0, slash) : "/"].push_back(Standin{key, dev, ino});
    return true;
  }
  // Where the host had the file (its symbolic links resolved), unless that is no path.
  const bool real =
      !shown.empty() && shown[0] == '/' && shown.find(" (deleted)") == std::string::npos;
  const std::string stand =
      root_ + "/host" + (real ? std::filesystem::path(shown).lexically_normal().string() : key);
  std::error_code ec;
  const uint32_t type = mode & S_IFMT;
  // The host's file at this path may have been replaced by one of another type since the
  // stand-in was made (a directory removed and a file made with its name).
  struct stat old {};
  const bool have = ::lstat(stand.c_str(), &old) == 0;
  if (have &&
      (S_ISDIR(old.st_mode) != (type == S_IFDIR) || S_ISLNK(old.st_mode) ||
       S_ISFIFO(old.st_mode) != (type == S_IFIFO) || (type == S_IFLNK && !link_target.empty())))
    std::filesystem::remove_all(stand, ec);
  if (type == S_IFLNK && !link_target.empty()) {
    std::filesystem::create_directories(std::filesystem::path(stand).parent_path(), ec);
    const std::string to = link_target[0] == '/' ? root_ + "/host" + link_target : link_target;
    if (::symlink(to.c_str(), stand.c_str()) != 0) {
      *error = "cannot make a stand-in for the symbolic link " + path + ": " + std::strerror(errno);
      return false;
    }
  } else if (type == S_IFDIR) {
    std::filesystem::create_directories(stand, ec);
    // The owner (the replay) keeps the right to make stand-ins inside; the guest's permission
    // checks read the other bits.
    if (ec || ::chmod(stand.c_str(), static_cast<mode_t>((mode & 07777) | 0700)) != 0) {
      *error = "cannot make a stand-in for the directory " + path;
      return false;
    }
  } else if (type == S_IFIFO) {
    // A FIFO stays one (opened without blocking, and not mappable, like the host's).
    std::filesystem::create_directories(std::filesystem::path(stand).parent_path(), ec);
    if (::mkfifo(stand.c_str(), static_cast<mode_t>(mode & 07777)) != 0 && errno != EEXIST) {
      *error = "cannot make a stand-in for the FIFO " + path + ": " + std::strerror(errno);
      return false;
    }
  } else {
    // (A symbolic link or socket the program only removes, renames or fails to open stands
    // in as an empty file.)
    std::filesystem::create_directories(std::filesystem::path(stand).parent_path(), ec);
    int fd = ::open(stand.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const bool plain = type == 0 || type == S_IFREG;
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(plain ? size : 0)) != 0 ||
        ::fchmod(fd, static_cast<mode_t>(mode & 07777)) != 0) {
      *error = "cannot make a stand-in for " + path + ": " + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return false;
    }
    ::close(fd);
  }
  recorded_[key] = stand;
  standins_[stand] = Standin{shown.empty() ? key : shown, dev, ino, existing || type == S_IFDIR};
  return true;
}

void Vfs::show_as(OpenFile &f, const std::string &stand, const Standin &sd) const {
  // A stand-in at ROOT/host/PATH shows its current path, as the host file would; others the
  // path recorded.
  if (stand == root_ + "/host" + sd.host_path)
    f.set_path_strip(root_ + "/host");
  else
    f.set_path_override(sd.host_path);
  if (sd.ino) f.set_identity_override(major(sd.dev), minor(sd.dev), sd.ino);
}

Result<std::string> Vfs::name_in_sandbox(int base_fd, const std::string &path, bool create,
                                         std::string *key, std::string *violation) {
  if (path.empty()) return fail(Errno::noent);
  if (base_fd < 0) base_fd = root_fd_;
  key->clear();
  if (path[0] == '/') {
    *key = std::filesystem::path(path).lexically_normal().string();
    auto rec = recorded_.find(*key);
    if (rec != recorded_.end()) {
      if (create && recorded_only_) {
        // (Its directory may have been removed and made again by calls a trace does not have.)
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(rec->second).parent_path(), ec);
      }
      return rec->second;
    }
    if (recorded_only_) {
      if (!create) return fail(Errno::noent);
      // A new name in the recorded tree (its directory existed on the recording host).
      const std::string stand = root_ + "/host" + *key;
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(stand).parent_path(), ec);
      return stand;
    }
  }
  // The name itself, not what a symbolic link names: resolve its directory.
  std::string d = ".", name = path;
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    d = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  int dfd = ::openat(base_fd, d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail(static_cast<Errno>(errno));
  const std::string resolved = real_path_of_fd(dfd) + "/" + name;
  ::close(dfd);
  if (inside(resolved)) return resolved;
  const std::string stand = root_ + "/host" + resolved;
  struct stat ss {};
  if (standin_host_writes_ && (create || ::lstat(stand.c_str(), &ss) == 0)) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(stand).parent_path(), ec);
    return stand;
  }
  if (recorded_only_) return fail(Errno::noent);
  *violation = "refusing to change the name " + resolved + ": it is outside the sandbox " + root_;
  return fail(Errno::acces);
}

Result<void> Vfs::unlink(int base_fd, std::string_view path, bool dir, bool privileged,
                         std::string *violation) {
  std::string key;
  Result<std::string> target = name_in_sandbox(base_fd, std::string(path), false, &key, violation);
  if (!target) return fail(target.error());
  if (!privileged) {
    // Removing a name needs write and search permission on its directory.
    struct stat dst {};
    const std::string parent = std::filesystem::path(*target).parent_path().string();
    if (::stat(parent.c_str(), &dst) == 0 && !other_may(dst, 3)) return fail(Errno::acces);
  }
  if ((dir ? ::rmdir(target->c_str()) : ::unlink(target->c_str())) != 0)
    return fail(static_cast<Errno>(errno));
  if (!key.empty()) {
    recorded_.erase(key);
    // Names recorded under a removed directory are gone with it.
    if (dir)
      for (auto it = recorded_.lower_bound(key + "/");
           it != recorded_.end() && it->first.compare(0, key.size() + 1, key + "/") == 0;)
        it = recorded_.erase(it);
  }
  return {};
}

Result<void> Vfs::link_or_rename(int old_base, std::string_view old_path, int new_base,
                                 std::string_view new_path, bool rename, unsigned flags,
                                 bool privileged, std::string *violation) {
  std::string old_key, new_key;
  Result<std::string> from =
      name_in_sandbox(old_base, std::string(old_path), false, &old_key, violation);
  if (!from) return fail(from.error());
  Result<std::string> to =
      name_in_sandbox(new_base, std::string(new_path), true, &new_key, violation);
  if (!to) return fail(to.error());
  if (!privileged) {
    struct stat dst {};
    const std::string parent = std::filesystem::path(*to).parent_path().string();
    if (::stat(parent.c_str(), &dst) == 0 && !other_may(dst, 3)) return fail(Errno::acces);
  }
  const int r = rename ? ::renameat2(AT_FDCWD, from->c_str(), AT_FDCWD, to->c_str(), flags)
                       : ::link(from->c_str(), to->c_str());
  if (r != 0) return fail(static_cast<Errno>(errno));
  constexpr unsigned kExchange = 2;  // RENAME_EXCHANGE: both names stay, swapped
  if (rename && (flags & kExchange)) {
    if (!old_key.empty() && !new_key.empty() && recorded_.count(old_key) &&
        recorded_.count(new_key))
      return {};  // each key still names its stand-in path, now holding the other file
  }
  if (recorded_only_ && !new_key.empty()) recorded_[new_key] = *to;
  if (rename && !(flags & kExchange) && !old_key.empty()) recorded_.erase(old_key);
  return {};
}

bool Vfs::write_recorded_bytes(const std::string &path, uint64_t offset, const std::string &bytes,
                               std::string *error) {
  auto it = recorded_.find(std::filesystem::path(path).lexically_normal().string());
  if (it == recorded_.end()) {
    *error = path + " is not a recorded file (@hostfile first)";
    return false;
  }
  int fd = ::open(it->second.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                           static_cast<ssize_t>(bytes.size());
  if (fd >= 0) ::close(fd);
  if (!ok) *error = "cannot write the recorded bytes of " + path;
  return ok;
}

}  // namespace vmspace
