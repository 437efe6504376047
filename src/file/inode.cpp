// Inodes over host files and vmspace-owned objects. See inode.hpp.
#include "file/inode.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
constexpr long kExt4Magic = 0xEF53;
constexpr long kXfsMagic = 0x58465342;
constexpr long kBtrfsMagic = 0x9123683E;
constexpr long kTmpfsMagic = 0x01021994;
constexpr long kHugetlbfsMagic = 0x958458f6;
constexpr long kProcMagic = 0x9fa0;
constexpr long kSysfsMagic = 0x62656572;

InodeKind kind_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return InodeKind::directory;
    case S_IFIFO:
      return InodeKind::fifo;
    case S_IFCHR:
      return InodeKind::chardev;
    case S_IFBLK:
      return InodeKind::blockdev;
    case S_IFSOCK:
      return InodeKind::socket;
    case S_IFLNK:
      return InodeKind::symlink;
    default:
      return InodeKind::regular;
  }
}
}  // namespace

Inode::~Inode() {
  if (PageCache *pc = pages_.load()) {
    (void)pc->writeback(0, ~0ull, size());  // no dirty byte is lost when the file closes
    delete pc;
  }
  if (cache_ && huge_reserved_) cache_->unreserve_huge(huge_page_size_, huge_reserved_);
  if (cache_) cache_->forget(this);
  if (host_fd_ >= 0) ::close(host_fd_);
  if (content_fd_ >= 0) ::close(content_fd_);
  if (reader_ >= 0) ::close(reader_);
}

int Inode::reader_fd() {
  if (content_fd_ >= 0) return content_fd_;
  if (host_fd_ < 0 || kind_ != InodeKind::regular) return -1;
  const int fd = reader_.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  MutexLock g(pages_mu_);
  if (reader_.load(std::memory_order_relaxed) < 0) {
    // The same file again (no path is looked up), read-only.
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd_);
    reader_.store(::open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
                  std::memory_order_release);
  }
  return reader_.load(std::memory_order_relaxed);
}

PageCache *Inode::pages() {
  if (!cache_ || !cache_->frames()) return nullptr;
  PageCache *pc = pages_.load(std::memory_order_acquire);
  if (pc) return pc;
  MutexLock g(pages_mu_);
  pc = pages_.load(std::memory_order_relaxed);
  if (!pc) {
    pc = new PageCache(*cache_->frames());
    pages_.store(pc, std::memory_order_release);
  }
  return pc;
}

Result<void> Inode::sync_pages(uint64_t first, uint64_t last) {
  PageCache *pc = pages_.load(std::memory_order_acquire);
  if (!pc) return {};
  return pc->writeback(first, last, size());
}

Result<uint64_t> Inode::seek_data(int fd, uint64_t off, bool data) {
  const uint64_t end = size();
  if (kind_ == InodeKind::shmem || fd < 0) {
    PageCache *pc = pages();
    if (!pc || kind_ != InodeKind::shmem) return data ? off : end;  // all data, as far as known
    const uint64_t ps = pc->page_size();
    if (data) {
      const uint64_t next = pc->next_resident(off / ps);
      if (next == ~0ull || next * ps >= end) return fail(Errno::nxio);
      return next * ps > off ? next * ps : off;
    }
    uint64_t p = off / ps;
    while (p * ps < end && pc->resident(p)) p++;  // at most the pages the object holds
    const uint64_t hole = p * ps > off ? p * ps : off;
    return hole < end ? hole : end;
  }
  VMS_TRY(sync_pages());
  const off_t r = ::lseek(fd, static_cast<off_t>(off), data ? SEEK_DATA : SEEK_HOLE);
  if (r < 0) return fail(static_cast<Errno>(errno));
  return static_cast<uint64_t>(r);
}

bool Inode::others_may_write() const {
  const int fd = host_fd_ >= 0 ? host_fd_ : content_fd_;
  if (fd < 0) return true;
  struct stat st {};
  return ::fstat(fd, &st) == 0 && (st.st_mode & S_IWOTH);
}

uint64_t Inode::size() const {
  if (host_fd_ < 0) return size_;
  struct stat st {};
  if (::fstat(host_fd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

Ref<Inode> InodeCache::host(int host_fd) {
  struct stat st {};
  if (::fstat(host_fd, &st) != 0) return nullptr;
  MutexLock lock(mu_);
  auto key = std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  auto it = host_.find(key);
  // An inode whose last reference is being dropped right now is still in the map until its
  // destructor reaches forget(); it must not be revived, so a fresh one replaces it.
  if (it != host_.end() && it->second->ref_get_unless_zero()) return Ref<Inode>::adopt(it->second);

  Ref<Inode> in(new Inode);
  in->cache_ = this;
  in->host_fd_ = ::fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
  in->dev_major_ = major(st.st_dev);
  in->dev_minor_ = minor(st.st_dev);
  in->ino_ = st.st_ino;
  in->host_key_ = key;
  in->kind_ = kind_of(st.st_mode);
  if (in->kind_ == InodeKind::chardev || in->kind_ == InodeKind::blockdev) {
    in->rdev_major_ = major(st.st_rdev);
    in->rdev_minor_ = minor(st.st_rdev);
  }
  if (in->kind_ == InodeKind::regular) {
    struct statfs sfs {};
    if (::fstatfs(host_fd, &sfs) == 0) {
      long t = static_cast<long>(sfs.f_type);
      // ext4 with extents and 4 KiB blocks: 2^32 - 1 blocks.
      if (t == kExt4Magic) in->max_bytes_ = 0xffffffff000;
      if (t == kExt4Magic || t == kXfsMagic) in->rejects_sync_ = true;
      if (t == kExt4Magic || t == kXfsMagic || t == kBtrfsMagic)
        in->policy_ = AreaPolicy::thp;
      else if (t == kTmpfsMagic)
        in->policy_ = AreaPolicy::shmem;
      else if (t == kHugetlbfsMagic)
        in->policy_ = AreaPolicy::hugetlb;
      else if (t == kProcMagic || t == kSysfsMagic)
        in->policy_ = AreaPolicy::none;
    }
    // FS_IOC_GETFLAGS needs a real (not O_PATH) descriptor.
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
    int rfd = ::open(link, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (rfd >= 0) {
      int attr = 0;
      if (::ioctl(rfd, FS_IOC_GETFLAGS, &attr) == 0) in->append_only_ = (attr & FS_APPEND_FL) != 0;
      ::close(rfd);
    }
  } else if (in->kind_ == InodeKind::chardev) {
    // /dev/zero (1:5) is the one character device vmspace maps; others have no mmap.
    in->policy_ = (major(st.st_rdev) == 1 && minor(st.st_rdev) == 5) ? AreaPolicy::dev_zero
                                                                     : AreaPolicy::none;
  } else {
    in->policy_ = AreaPolicy::none;
  }
  struct statvfs svfs {};
  if (::fstatvfs(host_fd, &svfs) == 0) in->noexec_ = (svfs.f_flag & ST_NOEXEC) != 0;
  host_[key] = in.get();
  return in;
}

Ref<Inode> InodeCache::shmem(std::string maps_path, uint64_t size) {
  Ref<Inode> in(new Inode);
  in->kind_ = InodeKind::shmem;
  in->policy_ = AreaPolicy::shmem;
  in->dev_minor_ = 1;
  in->size_ = size;
  in->own_path_ = std::move(maps_path);
  in->cache_ = this;  // for its page cache (forget() has nothing to do: no host file)
  MutexLock lock(mu_);
  in->ino_ = next_ino_++;
  return in;
}

Ref<Inode> InodeCache::hugetlb(std::string maps_path, uint64_t size, uint64_t huge_page_size) {
  Ref<Inode> in(new Inode);
  in->kind_ = InodeKind::hugetlb;
  in->policy_ = AreaPolicy::hugetlb;
  // Each huge page size has its own internal hugetlbfs mount (00:11 for 2 MiB, 00:12 for 1 GiB
  // on the reference machine).
  in->dev_minor_ = huge_page_size >= (1ull << 30) ? 0x12 : 0x11;
  in->size_ = size;
  in->huge_page_size_ = huge_page_size;
  in->own_path_ = std::move(maps_path);
  in->cache_ = this;
  MutexLock lock(mu_);
  in->ino_ = next_ino_++;
  return in;
}

Ref<Inode> InodeCache::device(bool block, uint32_t rdev_major, uint32_t rdev_minor,
                              uint32_t dev_major, uint32_t dev_minor, uint64_t ino,
                              std::string maps_path) {
  Ref<Inode> in(new Inode);
  in->kind_ = block ? InodeKind::blockdev : InodeKind::chardev;
  in->policy_ =
      !block && rdev_major == 1 && rdev_minor == 5 ? AreaPolicy::dev_zero : AreaPolicy::none;
  in->rdev_major_ = rdev_major;
  in->rdev_minor_ = rdev_minor;
  in->dev_major_ = dev_major;
  in->dev_minor_ = dev_minor;
  in->ino_ = ino;
  in->own_path_ = std::move(maps_path);
  return in;
}

Ref<Inode> InodeCache::standin(uint32_t dev_major, uint32_t dev_minor, uint64_t ino, InodeKind kind,
                               std::string maps_path, int host_fd) {
  Ref<Inode> in(new Inode);
  in->kind_ = kind;
  in->policy_ = kind == InodeKind::shmem ? AreaPolicy::shmem : AreaPolicy::thp;
  in->dev_major_ = dev_major;
  in->dev_minor_ = dev_minor;
  in->ino_ = ino;
  in->own_path_ = std::move(maps_path);
  in->cache_ = this;  // for its page cache (forget() has nothing to do: no host file)
  if (host_fd >= 0) {
    struct stat st {};
    if (::fstat(host_fd, &st) == 0) in->size_ = static_cast<uint64_t>(st.st_size);
    in->content_fd_ = host_fd;  // the contents come from the file it stands in for
  }
  return in;
}

void InodeCache::set_huge_pool(uint64_t free_2m, uint64_t free_1g) {
  MutexLock lock(mu_);
  huge_free_2m_ = free_2m;
  huge_free_1g_ = free_1g;
}

bool InodeCache::reserve_huge(uint64_t page_size, uint64_t n) {
  MutexLock lock(mu_);
  uint64_t &pool = page_size >= (1ull << 30) ? huge_free_1g_ : huge_free_2m_;
  if (pool < n) return false;
  pool -= n;
  return true;
}

void InodeCache::unreserve_huge(uint64_t page_size, uint64_t n) {
  MutexLock lock(mu_);
  uint64_t &pool = page_size >= (1ull << 30) ? huge_free_1g_ : huge_free_2m_;
  pool += n;
}

uint64_t InodeCache::huge_free(uint64_t page_size) {
  MutexLock lock(mu_);
  return page_size >= (1ull << 30) ? huge_free_1g_ : huge_free_2m_;
}

void InodeCache::forget(Inode *in) {
  if (in->host_fd_ < 0) return;
  MutexLock lock(mu_);
  auto it = host_.find(in->host_key_);
  if (it != host_.end() && it->second == in) host_.erase(it);
}

OpenFile::~OpenFile() {
  if (host_fd_ >= 0) ::close(host_fd_);
}

bool OpenFile::is_path() const { return (flags_ & lx::o_path) == lx::o_path; }

bool OpenFile::readable() const {
  if (is_path()) return false;
  uint64_t acc = flags_ & lx::o_accmode;
  return acc == lx::o_rdonly || acc == lx::o_rdwr;
}

bool OpenFile::writable() const {
  if (is_path()) return false;
  uint64_t acc = flags_ & lx::o_accmode;
  return acc == lx::o_wronly || acc == lx::o_rdwr;
}

Result<void> OpenFile::truncate(uint64_t size) {
  if (host_fd_ < 0) {
    inode_->set_own_size(size);
  } else if (::ftruncate(host_fd_, static_cast<off_t>(size)) != 0) {
    return fail(static_cast<Errno>(errno));
  }
  // The page cache follows: pages past the end go, the partial last page is zeroed past it.
  if (PageCache *pc = inode_->pages()) pc->truncate(size);
  return {};
}

Result<void> OpenFile::extend(uint64_t size) {
  if (host_fd_ < 0) {
    inode_->set_own_size(size);
    return {};
  }
  if (::ftruncate(host_fd_, static_cast<off_t>(size)) != 0) return fail(static_cast<Errno>(errno));
  return {};
}

void OpenFile::punch_hole(uint64_t first, uint64_t last) const {
  PageCache *pc = inode_->pages();
  if (!pc) return;
  const uint64_t ps = pc->page_size();
  if (host_fd_ >= 0)
    (void)::fallocate(host_fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(first * ps), static_cast<off_t>((last - first + 1) * ps));
  pc->drop(first, last);
}

std::string OpenFile::maps_path() const {
  if (path_override_) {
    // A stand-in shows the recorded path, and like d_path marks it once it is unlinked.
    struct stat st {};
    const std::string deleted = " (deleted)";
    const std::string &p = *path_override_;
    const bool marked = p.size() > deleted.size() &&
                        p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0;
    if (!marked && host_fd_ >= 0 && ::fstat(host_fd_, &st) == 0 && st.st_nlink == 0)
      return p + deleted;
    return p;
  }
  if (host_fd_ < 0) return inode_->own_path();
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd_);
  char buf[4096];
  ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n < 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  if (!path_strip_.empty() && path.size() > path_strip_.size() &&
      path.compare(0, path_strip_.size(), path_strip_) == 0 && path[path_strip_.size()] == '/')
    path.erase(0, path_strip_.size());
  return path;
}

}  // namespace vmspace
