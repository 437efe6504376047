// The sandbox file system. See sandbox_fs.hpp.
#include "file/sandbox_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
using confined::Scope;

// The permission an ordinary user (uid 65534, not the owner) has: the "other" bits.
bool other_may(const struct stat &st, int want) {
  const mode_t m = st.st_mode;
  if ((want & 4) && !(m & S_IROTH)) return false;
  if ((want & 2) && !(m & S_IWOTH)) return false;
  if ((want & 1) && !(m & S_IXOTH)) return false;
  return true;
}

// `path` without empty and "." components ("//a/./b" -> "/a/b"); ".." stays, since what it
// means depends on the links before it.
std::string collapse(const std::string &path) {
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    size_t e = path.find('/', i);
    if (e == std::string::npos) e = path.size();
    if (e > i && path.compare(i, e - i, ".") != 0) {
      out += '/';
      out.append(path, i, e - i);
    }
    i = e;
  }
  return out.empty() ? "/" : out;
}

constexpr std::string_view kDeleted = " (deleted)";

bool ends_deleted(const std::string &p) {
  return p.size() > kDeleted.size() &&
         p.compare(p.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
}

std::string real_root(const std::string &root) {
  char buf[PATH_MAX];
  return ::realpath(root.empty() ? "." : root.c_str(), buf) ? std::string(buf) : std::string();
}
}  // namespace

SandboxFs::SandboxFs(const SandboxOptions &o)
    : root_(real_root(o.root)),
      root_fd_(
          ::open(root_.empty() ? "/nonexistent" : root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
      host_root_fd_(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)),
      allow_host_read_(o.allow_host_read),
      quota_(o.max_files, o.max_bytes) {}

std::unique_ptr<FileSystem> make_sandbox_fs(const SandboxOptions &o) {
  return std::make_unique<SandboxFs>(o);
}

void SandboxFs::report(std::string msg) {
  MutexLock g(violation_mu_);
  violation_ = std::move(msg);
}

std::string SandboxFs::take_violation() {
  MutexLock g(violation_mu_);
  return std::exchange(violation_, std::string());
}

int SandboxFs::overlay_fd(bool make) { return overlay_ ? overlay_->tree_fd(make) : -1; }

NodeMeta *SandboxFs::meta_of(const struct stat &st) {
  if (overlay_)
    if (NodeMeta *m = overlay_->meta(st)) return m;
  auto it = special_.find({st.st_dev, st.st_ino});
  return it == special_.end() ? nullptr : &it->second;
}

void SandboxFs::forget_meta(const struct stat &st) {
  special_.erase({st.st_dev, st.st_ino});
  if (overlay_) overlay_->drop_meta(st);
}

bool SandboxFs::under_root(const std::string &path, std::string *rest) const {
  if (root_.empty()) return false;
  const std::string c = collapse(path);
  if (c.compare(0, root_.size(), root_) != 0) return false;
  if (c.size() == root_.size()) {
    *rest = "/";
    return true;
  }
  if (c[root_.size()] != '/' && root_ != "/") return false;
  *rest = root_ == "/" ? c : c.substr(root_.size());
  // The trailing slash of the guest's path means "a directory": it stays.
  if (path.back() == '/' && rest->back() != '/') *rest += '/';
  return true;
}

Result<SandboxFs::Lookup> SandboxFs::where(int base_fd, const std::string &path) {
  if (path.empty()) return fail(Errno::noent);
  if (path.size() >= PATH_MAX) return fail(Errno::nametoolong);
  if (!root_fd_) return fail(Errno::noent);
  Lookup l;
  if (path[0] == '/') {
    l.key = confined::normal_key(path);
    if (const std::string *t = overlay_ ? overlay_->redirect(l.key) : nullptr) {
      l.tree = Tree::overlay;
      l.base = overlay_fd(false);
      l.path = *t;
      if (path.back() == '/' && l.path != "/") l.path += '/';
      l.recorded = true;
      return l;
    }
    if (overlay_ && overlay_->all_absolute()) {
      l.tree = Tree::overlay;
      l.base = overlay_fd(false);
      l.path = path;
      return l;
    }
    std::string rest;
    if (under_root(path, &rest)) {
      l.tree = Tree::sandbox;
      l.base = root_fd_.get();
      l.path = rest;
      return l;
    }
    l.tree = Tree::host;
    l.base = host_root_fd_.get();
    l.path = path;
    l.scope = Scope::host;
  } else if (base_fd < 0) {
    l.tree = Tree::sandbox;
    l.base = root_fd_.get();
    l.path = path;
    return l;
  } else {
    // Relative to a directory descriptor: the tree it is in.
    const std::string dir = confined::path_of(base_fd);
    if (dir.empty() || ends_deleted(dir)) return fail(Errno::noent);
    std::string rest;
    if (under_root(dir, &rest)) {
      const int tree = overlay_fd(false);
      const std::string top = tree >= 0 ? "/" + overlay_->tree_name() : std::string();
      if (tree >= 0 && (rest == top || rest.compare(0, top.size() + 1, top + "/") == 0)) {
        l.tree = Tree::overlay;
        l.base = tree;
        l.path = rest.substr(top.size()) + "/" + path;
      } else {
        l.tree = Tree::sandbox;
        l.base = root_fd_.get();
        l.path = (rest == "/" ? std::string() : rest) + "/" + path;
      }
      if (l.path.size() >= PATH_MAX) return fail(Errno::nametoolong);
      return l;
    }
    l.tree = Tree::host;
    l.base = base_fd;
    l.path = path;
    l.scope = Scope::host;
  }
  // A host file the guest wrote to before: its copy in the overlay.
  if (overlay_ && overlay_->copies_host_writes()) {
    Result<Lookup> s = host_copy(l, false, 0);
    if (s) return s;
  }
  return l;
}

Result<SandboxFs::Lookup> SandboxFs::host_copy(const Lookup &host, bool make, uint64_t flags) {
  // The host's own resolution of the name (its links followed) gives the stand-in's path:
  // ROOT/host/PATH, as the host has the file.
  std::string canonical;
  struct stat hs {};
  bool exists = false;
  {
    Result<UniqueFd> fd = confined::open_at(host.base, host.path, O_PATH, 0, Scope::host);
    if (fd) {
      canonical = confined::path_of(fd->get());
      exists = ::fstat(fd->get(), &hs) == 0;
    } else if (fd.error() == Errno::noent) {
      Result<confined::Parent> p = confined::parent_of(host.base, host.path, Scope::host);
      if (!p) return fail(p.error());
      const std::string d = confined::path_of(p->dir.get());
      std::string name = p->name;
      while (!name.empty() && name.back() == '/') name.pop_back();
      if (d.empty() || name.empty()) return fail(Errno::noent);
      canonical = (d == "/" ? "" : d) + "/" + name;
    } else {
      return fail(fd.error());
    }
  }
  if (canonical.empty() || canonical[0] != '/' || ends_deleted(canonical))
    return fail(Errno::noent);
  Lookup l;
  l.tree = Tree::overlay;
  l.path = canonical;
  l.key = host.key;
  l.base = overlay_fd(make);
  if (l.base < 0) return fail(Errno::noent);
  if (confined::open_at(l.base, canonical, O_PATH | O_NOFOLLOW, 0, Scope::in_root)) return l;
  if (!make) return fail(Errno::noent);
  std::string dir, name;
  confined::split_last(canonical, &dir, &name);
  Result<UniqueFd> parent = confined::make_dirs(l.base, dir, 0755);
  if (!parent) return fail(parent.error());
  if (exists && S_ISREG(hs.st_mode) && !((flags & lx::o_trunc) && hs.st_size == 0)) {
    // The copy: the host file's size (sparse) and mode; maps shows the host file's identity.
    if (!quota_.charge_file()) return fail(Errno::nospc);
    UniqueFd f(::openat(parent->get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                        hs.st_mode & 0777));
    struct stat st {};
    if (!f || ::ftruncate(f.get(), hs.st_size) != 0 || ::fstat(f.get(), &st) != 0)
      return fail(static_cast<Errno>(errno));
    NodeMeta m;
    m.shown = canonical;
    m.strip = true;
    m.dev = hs.st_dev;
    m.ino = hs.st_ino;
    overlay_->set_meta(st, std::move(m));
  }
  return l;
}

Result<OpenedFile> SandboxFs::open(int base_fd, std::string_view path_view, uint64_t flags,
                                   uint32_t mode, bool privileged) {
  MutexLock lock(mu_);
  const std::string path(path_view);
  Result<Lookup> found = where(base_fd, path);
  if (!found) return fail(found.error());
  Lookup &l = *found;
  const bool is_opath = (flags & lx::o_path) == lx::o_path;
  const uint64_t acc = flags & lx::o_accmode;
  const bool wants_write = !is_opath && (acc == lx::o_wronly || acc == lx::o_rdwr ||
                                         (flags & (lx::o_creat | lx::o_trunc)) ||
                                         (flags & lx::o_tmpfile) == lx::o_tmpfile);
  if (l.tree == Tree::overlay && overlay_->all_absolute() && !l.recorded) {
    // Not recorded: the open failed when the trace was made (a success is always recorded),
    // and the stand-in tree, which mirrors the host's paths, gives the reason: ENOENT, or
    // ENOTDIR where the path runs through a recorded file. Nothing is created.
    if ((flags & lx::o_creat) && path.back() == '/') return fail(Errno::isdir);
    flags &= ~(lx::o_creat | lx::o_excl | (lx::o_tmpfile & ~lx::o_directory));
  }
  if (l.tree == Tree::host && wants_write) {
    // A device changes no file: it opens as a virtual one below.
    struct stat st {};
    Result<UniqueFd> probe =
        confined::open_at(l.base, l.path, O_PATH | (flags & lx::o_nofollow), 0, Scope::host);
    const bool device =
        probe && ::fstat(probe->get(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
    if (!device) {
      if (overlay_ && overlay_->copies_host_writes()) {
        Result<Lookup> s = host_copy(l, true, flags);
        if (!s) return fail(s.error());
        return open_in(*s, flags, mode, privileged);
      }
      report("refusing to open " + path + " for writing: it is outside the sandbox " + root_);
      return fail(Errno::acces);
    }
  }
  if (l.tree == Tree::host && !allow_host_read_) {
    report("refusing to open " + path + ": host files are not allowed");
    return fail(Errno::acces);
  }
  if (l.recorded && l.base >= 0) {
    // A recorded symbolic link is opened by the path as named, so that the links along it
    // count as they did on the host (ELOOP past 40); the path's own links may not all be in
    // the tree: then the link's stand-in itself.
    struct stat ls {};
    Result<UniqueFd> probe =
        confined::open_at(l.base, l.path, O_PATH | O_NOFOLLOW, 0, Scope::in_root);
    const bool link = probe && ::fstat(probe->get(), &ls) == 0 && S_ISLNK(ls.st_mode);
    if (link) {
      Lookup named = l;
      named.path = path;
      Result<OpenedFile> f = open_in(named, flags, mode, privileged);
      if (f || f.error() != Errno::noent) return f;
    }
  }
  return open_in(l, flags, mode, privileged);
}

Result<OpenedFile> SandboxFs::open_in(const Lookup &l, uint64_t flags, uint32_t mode,
                                      bool privileged) {
  if (l.base < 0) return fail(Errno::noent);
  const bool is_opath = (flags & lx::o_path) == lx::o_path;
  const bool tmpfile = (flags & lx::o_tmpfile) == lx::o_tmpfile;
  const bool creat = (flags & lx::o_creat) && !is_opath;
  const bool excl = creat && (flags & lx::o_excl);
  const uint64_t acc = flags & lx::o_accmode;
  uint64_t probe_flags = O_PATH | (flags & (lx::o_nofollow | lx::o_directory));
  // O_CREAT|O_EXCL never follows a link at the last component: the name must be new.
  if (excl) probe_flags |= O_NOFOLLOW;
  if (tmpfile) probe_flags |= O_DIRECTORY;
  for (int attempt = 0; attempt < 8; attempt++) {
    Result<UniqueFd> probe = confined::open_at(l.base, l.path, probe_flags, 0, l.scope);
    if (!probe) {
      if (probe.error() != Errno::noent || !creat || tmpfile || l.tree == Tree::host)
        return fail(probe.error());
      // A new file (or the target of a dangling link, which resolves inside the tree).
      if (!privileged) {
        // Creating a file needs write and search permission on its directory.
        Result<confined::Parent> parent = confined::parent_of(l.base, l.path, l.scope);
        struct stat dst {};
        if (parent && ::fstat(parent->dir.get(), &dst) == 0 && !other_may(dst, 3))
          return fail(Errno::acces);
      }
      if (!quota_.charge_file()) return fail(Errno::nospc);
      Result<UniqueFd> made = confined::open_at(l.base, l.path, flags | O_NONBLOCK | O_NOCTTY,
                                                static_cast<mode_t>(mode & 0777), l.scope);
      if (made.error() == Errno::exist && !excl) continue;  // made in between: open it
      if (!made) return fail(made.error());
      const int fd = made->get();
      if (!(flags & lx::o_nonblock)) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      struct stat st {};
      if (::fstat(fd, &st) == 0) note_special(st, mode);
      OpenedFile f;
      f.host_fd = made->release();
      show_as(f.view, l.tree, nullptr);
      return f;
    }
    const int pf = probe->get();
    struct stat st {};
    if (::fstat(pf, &st) != 0) return fail(static_cast<Errno>(errno));
    NodeMeta *m = l.tree == Tree::host ? nullptr : meta_of(st);
    // A recorded file the recorded program's open made: this open is that one.
    const bool fresh = m && !m->existing;
    if (excl && !fresh) return fail(Errno::exist);
    if (S_ISLNK(st.st_mode) && !is_opath) return fail(Errno::loop);  // O_NOFOLLOW
    const bool is_dir = S_ISDIR(st.st_mode);
    if (!privileged) {
      // An ordinary user (not the owner): the checks of the kernel's open path in their
      // order, ending with the "other" permission bits, before the host (where we may be
      // root) opens.
      int want = 0;
      if (!is_opath) {
        if (acc == lx::o_rdonly || acc == lx::o_rdwr) want |= 4;
        if (acc == lx::o_wronly || acc == lx::o_rdwr || (flags & lx::o_trunc)) want |= 2;
      }
      if (tmpfile) want = 3;  // a new file in the directory: write and search permission
      if (is_dir && (want & 2) && !tmpfile) return fail(Errno::isdir);
      if (want && !other_may(st, want)) return fail(Errno::acces);
    }
    if (is_opath) {
      OpenedFile f;
      f.host_fd = probe->release();
      show_as(f.view, l.tree, m);
      return f;
    }
    if ((m && m->device) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      // Never opened on the host: a device's open may do something (a tape rewinds, a
      // watchdog starts); a stand-in of one fails as the recorded open failed.
      if (m && m->open_error != Errno::none) return fail(m->open_error);
      // A guest has no controlling terminal (Linux: tty_open_current_tty gives ENXIO).
      if (!(m && m->device) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0))
        return fail(Errno::nxio);
      return device_file(st, m, confined::path_of(pf));
    }
    int fd;
    if (tmpfile) {
      if (!quota_.charge_file()) return fail(Errno::nospc);
      fd = ::openat(pf, ".", static_cast<int>(flags & ~lx::o_cloexec) | O_CLOEXEC,
                    static_cast<mode_t>(mode & 0777));
    } else {
      // The object the lookup found, opened for real through its descriptor (no second
      // lookup of the name). FIFOs would block on the host: opened non-blocking (a guest open
      // of a FIFO with a peer behaves the same).
      uint64_t rf = (flags & ~(lx::o_creat | lx::o_excl | lx::o_nofollow | lx::o_cloexec)) |
                    lx::o_cloexec | lx::o_noctty;
      if (S_ISFIFO(st.st_mode)) rf |= lx::o_nonblock;
      char self[64];
      std::snprintf(self, sizeof self, "/proc/self/fd/%d", pf);
      fd = ::open(self, static_cast<int>(rf));
    }
    if (fd < 0) return fail(static_cast<Errno>(errno));
    if (fresh) m->existing = true;
    OpenedFile f;
    f.host_fd = fd;
    NodeMeta unnamed;
    if (tmpfile && l.recorded && overlay_ && overlay_->take_tmpfile(l.key, &unnamed)) {
      // The unnamed file is the one the recorded program got.
      f.view.path = unnamed.shown;
      f.view.has_identity = true;
      f.view.dev_major = major(unnamed.dev);
      f.view.dev_minor = minor(unnamed.dev);
      f.view.ino = unnamed.ino;
      return f;
    }
    show_as(f.view, l.tree, m);
    return f;
  }
  return fail(Errno::again);
}

OpenedFile SandboxFs::device_file(const struct stat &st, const NodeMeta *m,
                                  const std::string &host_path) {
  OpenedFile f;
  FileView &v = f.view;
  const uint64_t rdev = m && m->device ? m->rdev : st.st_rdev;
  const uint64_t dev = m && m->ino ? m->dev : st.st_dev;
  v.device = true;
  v.block = m && m->device ? m->block : S_ISBLK(st.st_mode);
  v.rdev_major = major(rdev);
  v.rdev_minor = minor(rdev);
  v.has_identity = true;
  v.dev_major = major(dev);
  v.dev_minor = minor(dev);
  v.ino = m && m->ino ? m->ino : st.st_ino;
  v.path = host_path;
  const std::string tree = overlay_ ? root_ + "/" + overlay_->tree_name() : std::string();
  if (m && !m->strip)
    v.path = m->shown;
  else if (!tree.empty() && v.path.compare(0, tree.size() + 1, tree + "/") == 0)
    v.path.erase(0, tree.size());
  return f;
}

void SandboxFs::show_as(FileView &v, Tree tree, const NodeMeta *m) const {
  if (tree != Tree::overlay) return;
  // A file at ROOT/TREE/PATH shows its current path, as the host file would (renames, links
  // and unlinks show as on the host); others the path recorded.
  if (m && !m->strip && !m->shown.empty())
    v.path = m->shown;
  else
    v.strip_prefix = root_ + "/" + overlay_->tree_name();
  if (m && m->ino) {
    v.has_identity = true;
    v.dev_major = major(m->dev);
    v.dev_minor = minor(m->dev);
    v.ino = m->ino;
  }
}

Result<confined::Parent> SandboxFs::name_of(const Lookup &l, bool create) {
  if (l.tree == Tree::host) {
    if (!overlay_ || !overlay_->copies_host_writes()) {
      report("refusing to change the name " + l.path + ": it is outside the sandbox " + root_);
      return fail(Errno::acces);
    }
    // The name itself, not what a link names: its directory as the host resolves it.
    Result<confined::Parent> hp = confined::parent_of(l.base, l.path, Scope::host);
    if (!hp) return fail(hp.error());
    const std::string d = confined::path_of(hp->dir.get());
    if (d.empty() || d[0] != '/' || ends_deleted(d)) return fail(Errno::noent);
    const std::string canonical = (d == "/" ? "" : d) + "/" + hp->name;
    const int tree = overlay_fd(create);
    if (tree < 0) return fail(Errno::noent);
    if (create) {
      std::string dir, last;
      confined::split_last(canonical, &dir, &last);
      Result<UniqueFd> made = confined::make_dirs(tree, dir, 0755);
      if (!made) return fail(made.error());
    }
    return confined::parent_of(tree, canonical, Scope::in_root);
  }
  if (l.base < 0) return fail(Errno::noent);
  if (l.tree == Tree::overlay && overlay_->all_absolute() && create) {
    // A new name in the recorded tree: its directory existed on the recording host (it may
    // have been removed and made again by calls a trace does not have).
    std::string dir, last;
    confined::split_last(l.path, &dir, &last);
    (void)confined::make_dirs(l.base, dir, 0755);
  }
  return confined::parent_of(l.base, l.path, l.scope);
}

Result<void> SandboxFs::unlink(int base_fd, std::string_view path, bool dir, bool privileged) {
  MutexLock lock(mu_);
  Result<Lookup> l = where(base_fd, std::string(path));
  if (!l) return fail(l.error());
  Result<confined::Parent> p = name_of(*l, false);
  if (!p) return fail(p.error());
  if (p->name.empty()) return fail(dir ? Errno::busy : Errno::isdir);  // the root
  if (!privileged) {
    // Removing a name needs write and search permission on its directory.
    struct stat dst {};
    if (::fstat(p->dir.get(), &dst) == 0 && !other_may(dst, 3)) return fail(Errno::acces);
  }
  struct stat gone {};
  const bool had = ::fstatat(p->dir.get(), p->name.c_str(), &gone, AT_SYMLINK_NOFOLLOW) == 0;
  if (::unlinkat(p->dir.get(), p->name.c_str(), dir ? AT_REMOVEDIR : 0) != 0)
    return fail(static_cast<Errno>(errno));
  // The last name of an inode: its number may come back for another file.
  if (had && (S_ISDIR(gone.st_mode) || gone.st_nlink <= 1)) forget_meta(gone);
  if (!l->key.empty() && overlay_) overlay_->forget(l->key, dir);
  return {};
}

Result<void> SandboxFs::link_or_rename(int old_base, std::string_view old_path, int new_base,
                                       std::string_view new_path, bool rename, unsigned flags,
                                       bool privileged) {
  MutexLock lock(mu_);
  Result<Lookup> from = where(old_base, std::string(old_path));
  if (!from) return fail(from.error());
  Result<Lookup> to = where(new_base, std::string(new_path));
  if (!to) return fail(to.error());
  Result<confined::Parent> po = name_of(*from, false);
  if (!po) return fail(po.error());
  Result<confined::Parent> pn = name_of(*to, true);
  if (!pn) return fail(pn.error());
  if (po->name.empty()) return fail(rename ? Errno::busy : Errno::perm);
  if (pn->name.empty()) return fail(rename ? Errno::busy : Errno::exist);
  if (!privileged) {
    struct stat dst {};
    if (::fstat(pn->dir.get(), &dst) == 0 && !other_may(dst, 3)) return fail(Errno::acces);
  }
  struct stat replaced {};
  const bool replaces =
      rename && !(flags & 2) &&
      ::fstatat(pn->dir.get(), pn->name.c_str(), &replaced, AT_SYMLINK_NOFOLLOW) == 0;
  const int r =
      rename ? ::renameat2(po->dir.get(), po->name.c_str(), pn->dir.get(), pn->name.c_str(), flags)
             : ::linkat(po->dir.get(), po->name.c_str(), pn->dir.get(), pn->name.c_str(), 0);
  if (r != 0) return fail(static_cast<Errno>(errno));
  if (replaces && (S_ISDIR(replaced.st_mode) || replaced.st_nlink <= 1)) forget_meta(replaced);
  constexpr unsigned kExchange = lx::rename_exchange;  // both names stay, swapped
  if (rename && (flags & kExchange) && overlay_ && overlay_->recorded(from->key) &&
      overlay_->recorded(to->key))
    return {};  // each key still names its stand-in path, now holding the other file
  if (overlay_ && overlay_->all_absolute() && !to->key.empty() && to->tree == Tree::overlay)
    overlay_->bind(to->key, confined::normal_key(to->path));
  if (rename && !(flags & kExchange) && !from->key.empty() && overlay_)
    overlay_->forget(from->key, false);
  return {};
}

bool SandboxFs::make_file(const std::string &path, const std::string *content, uint64_t size,
                          uint32_t mode, std::string *error) {
  MutexLock lock(mu_);
  std::string in_root = path;
  if (path.empty() || (path[0] == '/' && !under_root(path, &in_root))) {
    *error = path + " is outside the sandbox " + root_;
    return false;
  }
  auto cannot = [&](int e) {
    *error = "cannot create " + path + ": " + std::strerror(e);
    return false;
  };
  Result<confined::Parent> p = confined::parent_of(root_fd_.get(), in_root, Scope::in_root);
  if (!p) return cannot(static_cast<int>(p.error()));
  if (p->name.empty() || p->name.back() == '/') return cannot(EISDIR);
  struct stat st {};
  const bool fresh = ::fstatat(p->dir.get(), p->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0;
  if (fresh && !quota_.charge_file()) {
    *error = "cannot create " + path + ": the sandbox holds at most " +
             std::to_string(quota_.max_files()) + " files";
    return false;
  }
  // A link in the last place is not followed (ELOOP), a FIFO not waited for (ENXIO).
  UniqueFd f(::openat(p->dir.get(), p->name.c_str(),
                      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                      0600));
  if (!f) return cannot(errno);
  if (::fstat(f.get(), &st) != 0) return cannot(errno);
  if (!S_ISREG(st.st_mode)) return cannot(EINVAL);
  if (content) {
    if (!quota_.charge_bytes(content->size())) {
      *error = "cannot write " + path + ": the sandbox holds at most " +
               std::to_string(quota_.max_bytes()) + " bytes of script data";
      return false;
    }
    if (::write(f.get(), content->data(), content->size()) != static_cast<ssize_t>(content->size()))
      return cannot(errno);
  } else {
    if (size > static_cast<uint64_t>(INT64_MAX)) return cannot(EFBIG);
    if (::ftruncate(f.get(), static_cast<off_t>(size)) != 0) return cannot(errno);
  }
  if (::fchmod(f.get(), static_cast<mode_t>(mode & 0777)) != 0) return cannot(errno);
  note_special(st, mode);
  return true;
}

Result<void> SandboxFs::resize(int host_fd, uint64_t size) {
  MutexLock lock(mu_);
  if (host_fd < 0) return fail(Errno::inval);
  struct stat st {};
  if (::fstat(host_fd, &st) != 0 || !S_ISREG(st.st_mode)) return fail(Errno::inval);
  std::string path = confined::path_of(host_fd);
  if (ends_deleted(path)) path.resize(path.size() - kDeleted.size());
  std::string rest;
  if (path.empty() || !under_root(path, &rest)) return fail(Errno::perm);
  if (size > static_cast<uint64_t>(INT64_MAX)) return fail(Errno::fbig);
  // Through /proc/self/fd: the file may have no name left.
  char self[64];
  std::snprintf(self, sizeof self, "/proc/self/fd/%d", host_fd);
  UniqueFd w(::open(self, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!w) return fail(static_cast<Errno>(errno));
  if (::ftruncate(w.get(), static_cast<off_t>(size)) != 0) return fail(static_cast<Errno>(errno));
  return {};
}

void SandboxFs::note_special(const struct stat &st, uint32_t mode) {
  // A new file: whatever was noted for an earlier file with its inode number is not its.
  forget_meta(st);
  if (!(mode & 07000)) return;
  NodeMeta m;
  m.special = mode & 07000;
  special_[{st.st_dev, st.st_ino}] = std::move(m);
}

uint32_t SandboxFs::special_bits(int host_fd) {
  MutexLock lock(mu_);
  struct stat st {};
  if (host_fd < 0 || ::fstat(host_fd, &st) != 0) return 0;
  const NodeMeta *m = meta_of(st);
  return m ? m->special : 0;
}

}  // namespace vmspace
