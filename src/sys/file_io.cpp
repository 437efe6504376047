// read, write, pread64, pwrite64, lseek (Linux: fs/read_write.c, mm/filemap.c
// filemap_read and generic_perform_write, drivers/char/mem.c for the memory devices).
//
// Regular files and shmem objects are read and written through the inode's page cache, the
// same frames every mapping of the file maps: a write(2) is seen at once by every mapping
// and a store through a MAP_SHARED mapping by the next read(2), as on Linux. A write leaves
// its pages dirty until write-back (fsync, msync MS_SYNC, the inode's end); a write past the
// end grows the file at once.
//
// A buffer is either guest memory (buf, count: loads and stores of the guest, which fault
// pages in; a part that cannot be accessed ends the call short, or with EFAULT when nothing
// was copied) or, for the script runner, host memory.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

#include "file/fd_table.hpp"
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {
constexpr uint64_t kMaxRwCount = 0x7ffff000;  // INT_MAX & PAGE_MASK
constexpr uint64_t kChunk = 64 * 1024;        // bytes copied between guest and cache at once
constexpr int kSeekSet = 0, kSeekCur = 1, kSeekEnd = 2, kSeekData = 3, kSeekHole = 4;

// The memory devices (drivers/char/mem.c), by minor number of major 1.
enum class MemDev { none, null, zero, full, random, other };
MemDev mem_dev(const Inode &in) {
  if (in.kind() != InodeKind::chardev) return MemDev::none;
  if (in.rdev_major() != 1) return MemDev::other;
  switch (in.rdev_minor()) {
    case 3:
      return MemDev::null;
    case 5:
      return MemDev::zero;
    case 7:
      return MemDev::full;
    case 8:
    case 9:
      return MemDev::random;
    default:
      return MemDev::other;
  }
}

bool has_cache(const Inode &in) {
  return in.kind() == InodeKind::regular || in.kind() == InodeKind::shmem;
}
}  // namespace

// Linux 6.18 filemap_get_pages -> page_cache_sync_ra, for a read whose first page neither
// cache holds: at the file's start, or for a read larger than the window, the initial window
// (get_init_ra_size: the request rounded up to a power of two, x4 while small, x2 while
// middling, else ra_pages) with its PG_readahead mark; otherwise, with no read history, the
// request alone. A read that meets a marked page clears the mark (the asynchronous
// readahead the kernel then starts, the read history, prev_pos, and the windows it ramps up
// are not modelled).
void Task::read_ahead(const OpenFile &f, PageCache &pc, uint64_t pos, uint64_t count,
                      uint64_t size) {
  if (f.inode()->kind() != InodeKind::regular) return;
  const uint64_t ps = page_size();
  const uint64_t index = pos / ps, last = (pos + count + ps - 1) / ps;
  pc.clear_readahead_marks(index, last - 1);
  const uint64_t ra = mm().ctx.cfg.read_ahead_pages, req = last - index;
  if (ra == 0 || (index != 0 && req <= ra) || pc.cached(index) != FramePool::kZero) return;
  if (f.read_fd() >= 0 && host_residency(f.read_fd(), index, 1, ps)[0]) return;
  uint64_t n = 1;
  while (n < req) n <<= 1;
  n = n <= ra / 32 ? 4 * n : n <= ra / 4 ? 2 * n : ra;
  pc.readahead(index, n, n > req ? n - req : n / 2, f.read_fd(), size);
}

// Linux: ksys_read/ksys_pread64 -> vfs_read; ksys_write/ksys_pwrite64 -> vfs_write.
Result<uint64_t> Task::file_io(uint64_t fd, uint64_t buf, uint8_t *host, uint64_t count, bool write,
                               bool positional, uint64_t pos_arg) {
  if (positional && static_cast<int64_t>(pos_arg) < 0) return fail(Errno::inval);
  Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
  if (!f || f->is_path()) return fail(Errno::badf);
  if (f == state_.placeholder) return fail(Errno::nosys);  // a descriptor vmspace does not model
  const Ref<Inode> &in = f->inode();
  if (positional && (in->kind() == InodeKind::fifo || in->kind() == InodeKind::socket))
    return fail(Errno::spipe);
  if (write ? !f->writable() : !f->readable()) return fail(Errno::badf);
  // access_ok: the buffer must lie below TASK_SIZE.
  if (!host && (count > mm_->task_size || buf > mm_->task_size - count)) return fail(Errno::fault);
  if (count > kMaxRwCount) count = kMaxRwCount;

  const MemDev dev = mem_dev(*in);
  if (dev != MemDev::none) {
    if (dev == MemDev::other) return fail(Errno::nosys);
    if (write) {
      if (dev == MemDev::full) return count ? fail(Errno::nospc) : Result<uint64_t>(0);
      return count;  // null, zero, random: the bytes go nowhere
    }
    if (dev == MemDev::null) return 0;
    // zero, full: zeros; random: bytes nobody can predict (the host's).
    uint64_t done = 0;
    std::vector<uint8_t> chunk(std::min(count, kChunk));
    std::random_device rd;
    while (done < count) {
      const uint64_t k = std::min<uint64_t>(count - done, chunk.size());
      if (dev == MemDev::random)
        for (uint64_t i = 0; i < k; i++) chunk[i] = static_cast<uint8_t>(rd());
      if (host) {
        std::memcpy(host + done, chunk.data(), k);
      } else if (Fault e = write_mem(buf + done, chunk.data(), k)) {
        done += e.addr - (buf + done);
        return done ? Result<uint64_t>(done) : fail(Errno::fault);
      }
      done += k;
    }
    return done;
  }
  if (in->kind() == InodeKind::directory) return fail(write ? Errno::badf : Errno::isdir);
  // hugetlbfs has no write_iter (EINVAL); its read_iter reads the huge pages.
  if (in->kind() == InodeKind::hugetlb && write) return fail(Errno::inval);
  if (!has_cache(*in) && in->kind() != InodeKind::hugetlb)
    return fail(Errno::nosys);  // pipes, sockets, other devices
  PageCache *pc = in->pages();
  if (!pc) return fail(Errno::nosys);  // a System without guest memory

  // f_pos_lock: reads and writes of one open file are serialized (FMODE_ATOMIC_POS).
  MutexLock pos_lock(f->pos_mu());
  uint64_t pos = positional ? pos_arg : f->pos_locked();
  // rw_verify_area: pos + count must not overflow loff_t.
  if (static_cast<int64_t>(pos + count) < 0) return fail(Errno::inval);
  const uint64_t size = in->size();
  uint64_t done = 0;
  if (!write) {
    if (count == 0 || pos >= size) return 0;
    read_ahead(*f, *pc, pos, count, size);
    std::vector<uint8_t> chunk(host ? 0 : std::min(count, kChunk));
    while (done < count && pos + done < size) {
      const uint64_t k = std::min<uint64_t>(count - done, host ? count : chunk.size());
      Result<uint64_t> got =
          pc->copy_out(pos + done, host ? host + done : chunk.data(), k, f->read_fd(), size);
      if (!got) {
        if (done) break;
        return fail(got.error());
      }
      if (*got == 0) break;
      if (!host) {
        if (Fault e = write_mem(buf + done, chunk.data(), *got)) {
          done += e.addr - (buf + done);
          if (!done) return fail(Errno::fault);
          break;
        }
      }
      done += *got;
      if (*got < k) break;
    }
  } else {
    // generic_write_checks: O_APPEND writes at the end (pwrite64 too, as Linux does); the file
    // size limit cuts the write or refuses it.
    if (f->open_flags() & lx::o_append) pos = size;
    if (count == 0) return 0;
    const uint64_t fsize = rlimit_cur(lx::rlimit_fsize);
    if (fsize != ~0ull) {
      if (pos >= fsize) return fail(Errno::fbig);
      count = std::min(count, fsize - pos);
    }
    if (pos >= static_cast<uint64_t>(in->max_bytes())) return fail(Errno::fbig);
    count = std::min(count, static_cast<uint64_t>(in->max_bytes()) - pos);
    if (f->host_fd() >= 0) pc->set_writer(f->host_fd());
    std::vector<uint8_t> chunk(host ? 0 : std::min(count, kChunk));
    Errno err = Errno::fault;  // what a write that copied nothing fails with
    while (done < count) {
      uint64_t k = host ? count - done : std::min<uint64_t>(count - done, chunk.size());
      bool cut = false;  // the guest buffer ends in memory that cannot be read
      if (!host) {
        if (Fault e = read_mem(buf + done, chunk.data(), k)) {
          k = e.addr - (buf + done);
          cut = true;
        }
      }
      if (k == 0) break;
      const uint64_t end = pos + done + k;
      if (end > in->size()) {
        Result<void> grown = f->extend(end);
        if (!grown) {
          err = grown.error();
          break;
        }
      }
      Result<uint64_t> put = pc->copy_in(pos + done, host ? host + done : chunk.data(), k,
                                         f->read_fd(), std::max(size, end));
      if (!put) {
        err = put.error();
        break;
      }
      done += *put;
      if (*put < k || cut) break;
    }
    if (!done) return fail(err);
  }
  if (!positional) f->pos_locked() = pos + done;
  return done;
}

// Linux: ksys_lseek -> vfs_llseek (generic_file_llseek_size for regular files, shmem's
// SEEK_DATA/SEEK_HOLE over the pages it holds, noop for the memory devices).
Result<uint64_t> Task::lseek(uint64_t fd, uint64_t offset, uint64_t whence) {
  Ref<OpenFile> f = files_->get(fd & 0xffffffffu);
  if (!f || f->is_path()) return fail(Errno::badf);
  if (f == state_.placeholder) return fail(Errno::nosys);
  if (static_cast<uint32_t>(whence) > kSeekHole || (whence >> 32)) return fail(Errno::inval);
  const Ref<Inode> &in = f->inode();
  const int w = static_cast<int>(whence);
  const int64_t off = static_cast<int64_t>(offset);
  switch (in->kind()) {
    case InodeKind::fifo:
    case InodeKind::socket:
      return fail(Errno::spipe);
    case InodeKind::chardev:
    case InodeKind::blockdev:
      if (mem_dev(*in) == MemDev::other) return fail(Errno::nosys);
      {
        MutexLock pos_lock(f->pos_mu());
        f->pos_locked() = 0;  // null_lseek: the position stays 0
      }
      return 0;
    case InodeKind::directory: {
      // A directory's position is its host descriptor's (getdents is not modelled).
      if (f->host_fd() < 0) return fail(Errno::nosys);
      const off_t r = ::lseek(f->host_fd(), static_cast<off_t>(off), w);
      if (r < 0) return fail(static_cast<Errno>(errno));
      return static_cast<uint64_t>(r);
    }
    default:
      break;
  }
  MutexLock pos_lock(f->pos_mu());
  const uint64_t size = in->size();
  const int64_t maxbytes = in->kind() == InodeKind::regular ? in->max_bytes() : INT64_MAX;
  int64_t to = 0;
  switch (w) {
    case kSeekSet:
      to = off;
      break;
    case kSeekCur:
      if (off == 0) return f->pos_locked();                 // no change, no check
      to = static_cast<int64_t>(f->pos_locked() + offset);  // wraps as the kernel's loff_t
      break;
    case kSeekEnd:
      to = static_cast<int64_t>(size + offset);
      break;
    case kSeekData:
    case kSeekHole: {
      if (in->kind() == InodeKind::hugetlb) {
        // default_llseek: the whole file is data, with a hole at its end; a negative offset
        // is below any size (and then fails below unless SEEK_HOLE moved it).
        if (off >= static_cast<int64_t>(size)) return fail(Errno::nxio);
        to = w == kSeekHole ? static_cast<int64_t>(size) : off;
        break;
      }
      if (off < 0 || static_cast<uint64_t>(off) >= size) return fail(Errno::nxio);
      Result<uint64_t> r = in->seek_data(f->host_fd(), static_cast<uint64_t>(off), w == kSeekData);
      if (!r) return fail(r.error());
      to = static_cast<int64_t>(*r);
      break;
    }
  }
  if (to < 0 || to > maxbytes) return fail(Errno::inval);  // vfs_setpos
  f->pos_locked() = static_cast<uint64_t>(to);
  return static_cast<uint64_t>(to);
}

}  // namespace vmspace
