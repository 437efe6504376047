// Inodes and open files (Linux: struct inode, struct file).
//
// An Inode is either a real host file (vmspace asks the host for its size, device and inode
// numbers, so /proc/PID/maps shows what Linux would) or an object vmspace owns: shmem (memfd,
// shared anonymous memory) and hugetlbfs files. One Inode exists per host (device, inode)
// pair (InodeCache), so every open of a file shares it, as in Linux.
// An OpenFile is one open() of an inode: its access mode decides what mmap may do, its
// identity decides whether two VMAs can merge, and its path is the one maps shows.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/mutex.hpp"
#include "base/ref.hpp"
#include "file/page_cache.hpp"
#include "vma/vma.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

enum class InodeKind : uint8_t {
  regular,
  directory,
  fifo,
  chardev,
  blockdev,
  socket,
  symlink,
  shmem,    // memfd_create, shared anonymous memory, MAP_SHARED of /dev/zero
  hugetlb,  // anonymous MAP_HUGETLB and MFD_HUGETLB
};

// Which get_unmapped_area a file's filesystem uses (Linux: f_op->get_unmapped_area).
enum class AreaPolicy : uint8_t {
  generic,   // mm_get_unmapped_area
  thp,       // thp_get_unmapped_area (ext4, xfs, btrfs): 2 MiB alignment for large ranges
  shmem,     // shmem_get_unmapped_area (tmpfs, memfd): generic while huge=never
  hugetlb,   // hugetlb_get_unmapped_area: huge-page aligned
  dev_zero,  // get_unmapped_area_zero
  none,      // no mmap support (ENODEV)
};

class InodeCache;

class Inode : public RefCounted {
 public:
  ~Inode() override;

  InodeKind kind() const { return kind_; }
  AreaPolicy area_policy() const { return policy_; }
  uint32_t dev_major() const { return dev_major_; }
  uint32_t dev_minor() const { return dev_minor_; }
  uint64_t ino() const { return ino_; }
  bool is_host() const { return host_fd_ >= 0; }
  // A host descriptor the file's contents can be read through (opened read-only on first
  // use: the descriptors of its opens may be write-only or O_PATH), or -1.
  int reader_fd();
  bool append_only() const { return append_only_; }
  bool noexec_mount() const { return noexec_; }
  uint64_t huge_page_size() const { return huge_page_size_; }
  bool is_dev_zero() const { return policy_ == AreaPolicy::dev_zero; }
  // ext4 and xfs refuse VM_SYNC mappings of non-DAX files (EOPNOTSUPP from their mmap hook).
  bool rejects_map_sync() const { return rejects_sync_; }
  // MAP_SHARED_VALIDATE may carry MAP_SYNC for this file (Linux: FOP_MMAP_SYNC).
  bool supports_map_sync_flag() const { return rejects_sync_; }
  // Huge pages this hugetlbfs object holds reserved (given back when it goes away).
  uint64_t huge_reserved() const { return huge_reserved_; }
  void add_huge_reserved(uint64_t n) { huge_reserved_ += n; }
  // Whether an ordinary user (neither owner nor in the group) may write the file: vmspace-owned
  // objects belong to the process that made them.
  bool others_may_write() const;
  // A device's number (st_rdev) for character and block devices.
  uint32_t rdev_major() const { return rdev_major_; }
  uint32_t rdev_minor() const { return rdev_minor_; }
  // The largest file offset its file system allows (Linux: s_maxbytes).
  int64_t max_bytes() const { return max_bytes_; }
  // lseek SEEK_DATA (data) or SEEK_HOLE from offset off (< size): host files ask the host
  // through fd after writing dirty pages back; shmem objects look at the pages they hold.
  Result<uint64_t> seek_data(int fd, uint64_t off, bool data);
  // Path of a vmspace-owned object as maps shows it ("/memfd:x (deleted)").
  const std::string &own_path() const { return own_path_; }

  // Current size in bytes (asks the host for host files).
  uint64_t size() const;
  // Sets the size of a vmspace-owned object (host files are truncated through an OpenFile).
  void set_own_size(uint64_t size) { size_ = size; }
  // The inode's contents in guest memory (made on first use; null without a frame pool).
  PageCache *pages();
  // Writes the dirty pages of [first, last] back (Linux: filemap_write_and_wait_range).
  Result<void> sync_pages(uint64_t first = 0, uint64_t last = ~0ull);

 private:
  friend class InodeCache;
  Inode() = default;
  InodeCache *cache_ = nullptr;
  InodeKind kind_ = InodeKind::regular;
  AreaPolicy policy_ = AreaPolicy::generic;
  uint32_t dev_major_ = 0, dev_minor_ = 0;
  uint32_t rdev_major_ = 0, rdev_minor_ = 0;
  int64_t max_bytes_ = INT64_MAX;  // MAX_LFS_FILESIZE unless the file system says less
  uint64_t ino_ = 0;
  std::pair<uint64_t, uint64_t> host_key_{};  // (st_dev, st_ino) in InodeCache::host_
  int host_fd_ = -1;                          // any host descriptor of the file, for fstat
  int content_fd_ = -1;                       // a stand-in's host file, for its contents
  std::atomic<int> reader_{-1};               // reader_fd(), made under pages_mu_
  bool append_only_ = false;
  bool noexec_ = false;
  uint64_t size_ = 0;  // for objects vmspace owns
  uint64_t huge_page_size_ = 0;
  uint64_t huge_reserved_ = 0;
  bool rejects_sync_ = false;
  std::string own_path_;
  Mutex pages_mu_;
  std::atomic<PageCache *> pages_{nullptr};  // owned
};

// One Inode per host file; vmspace-owned objects get inode numbers from a counter
// (Linux: get_next_ino()).
class InodeCache {
 public:
  // The inode of the file open as host_fd (which the caller keeps).
  Ref<Inode> host(int host_fd);
  Ref<Inode> shmem(std::string maps_path, uint64_t size);
  // An inode known only from a maps line (layout import, replay): shown with the given device,
  // inode number and path; backed by host_fd for its contents when host_fd >= 0 (taken over).
  Ref<Inode> standin(uint32_t dev_major, uint32_t dev_minor, uint64_t ino, InodeKind kind,
                     std::string maps_path, int host_fd);
  Ref<Inode> hugetlb(std::string maps_path, uint64_t size, uint64_t huge_page_size);
  // A character or block device node that is never opened on the host (a replay's stand-in
  // of a recorded device, a host device a script names, the /dev/null of placeholders):
  // device rdev, shown as `maps_path` with the node's device and inode numbers. /dev/zero
  // (1:5) maps as /dev/zero does; any other device has no mmap (ENODEV).
  Ref<Inode> device(bool block, uint32_t rdev_major, uint32_t rdev_minor, uint32_t dev_major,
                    uint32_t dev_minor, uint64_t ino, std::string maps_path);
  // The guest memory page caches take their frames from (set once, before any inode).
  void set_frames(FramePool *f) { frames_ = f; }
  FramePool *frames() const { return frames_; }
  // Sets the next inode number handed to a vmspace-owned object.
  void set_next_ino(uint64_t n) {
    MutexLock lock(mu_);
    next_ino_ = n;
  }

  // The huge page pools (vm.nr_hugepages): free pages of 2 MiB and 1 GiB.
  void set_huge_pool(uint64_t free_2m, uint64_t free_1g);
  // Takes n pages of the given size from the pool; false when not enough are free.
  bool reserve_huge(uint64_t page_size, uint64_t n);
  void unreserve_huge(uint64_t page_size, uint64_t n);
  uint64_t huge_free(uint64_t page_size);

 private:
  friend class Inode;
  void forget(Inode *in);
  FramePool *frames_ = nullptr;
  Mutex mu_;
  // (st_dev, st_ino) -> inode; an inode removes itself when it dies (forget).
  std::map<std::pair<uint64_t, uint64_t>, Inode *> host_ VMS_GUARDED_BY(mu_);
  uint64_t next_ino_ VMS_GUARDED_BY(mu_) = 1025;
  uint64_t huge_free_2m_ VMS_GUARDED_BY(mu_) = 0, huge_free_1g_ VMS_GUARDED_BY(mu_) = 0;
};

// One open file description (Linux: struct file).
class OpenFile : public MappedFile {
 public:
  // host_fd (may be -1 for vmspace-owned objects) is owned and closed by the OpenFile.
  OpenFile(Ref<Inode> inode, uint64_t open_flags, int host_fd)
      : inode_(std::move(inode)), flags_(open_flags), host_fd_(host_fd) {}
  ~OpenFile() override;

  const Ref<Inode> &inode() const { return inode_; }
  uint64_t open_flags() const { return flags_; }
  int host_fd() const { return host_fd_; }
  // A descriptor to read the file's contents through: this open's, else the inode's.
  int read_fd() const { return host_fd_ >= 0 && readable() ? host_fd_ : inode_->reader_fd(); }
  bool is_path() const;   // O_PATH: usable only as a name, not for I/O or mmap
  bool readable() const;  // FMODE_READ
  bool writable() const;  // FMODE_WRITE

  // ftruncate.
  Result<void> truncate(uint64_t size);
  // A write(2) reaching past the end: the file grows to size (its new bytes are in the page
  // cache, so nothing else changes).
  Result<void> extend(uint64_t size);
  // The file position (f_pos) and its lock (f_pos_lock), shared by every descriptor of this
  // open file (dup, fork).
  Mutex &pos_mu() VMS_RETURN_CAPABILITY(pos_mu_) { return pos_mu_; }
  uint64_t &pos_locked() VMS_REQUIRES(pos_mu_) { return pos_; }
  // MADV_REMOVE: pages [first, last] of the file become a hole (zeros, for every mapping).
  void punch_hole(uint64_t first, uint64_t last) const;

  uint32_t dev_major() const override { return id_ ? id_->major : inode_->dev_major(); }
  uint32_t dev_minor() const override { return id_ ? id_->minor : inode_->dev_minor(); }
  uint64_t ino() const override { return id_ ? id_->ino : inode_->ino(); }
  std::string maps_path() const override;
  uint64_t split_granule() const override { return inode_->huge_page_size(); }
  // Replaces the shown path (replay shows the recorded path of a stand-in file).
  void set_path_override(std::string p) { path_override_ = std::move(p); }
  // Shows the host file's current path without `prefix` (a stand-in tree that mirrors the
  // recorded paths: renames, links and unlinks show as they would on the host).
  void set_path_strip(std::string prefix) { path_strip_ = std::move(prefix); }
  // Replaces the shown device and inode (a stand-in shows the file it stands in for).
  void set_identity_override(uint32_t major, uint32_t minor, uint64_t ino) {
    id_ = Identity{major, minor, ino};
  }

 private:
  Ref<Inode> inode_;
  uint64_t flags_;
  int host_fd_;
  Mutex pos_mu_;
  uint64_t pos_ VMS_GUARDED_BY(pos_mu_) = 0;
  std::optional<std::string> path_override_;
  std::string path_strip_;
  struct Identity {
    uint32_t major, minor;
    uint64_t ino;
  };
  std::optional<Identity> id_;
};

}  // namespace vmspace
