// Front ends of brk, mremap, the mlock family, madvise, msync, mincore, mseal
// and prctl(PR_SET_VMA): decode, lock, hand over to the AddressSpace.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>

#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"

namespace vmspace {

Fault Task::access(uint64_t addr, uint64_t len, bool write, bool exec) {
  MmFaultLock lock(*mm_);
  return mm_->touch_mem(addr, len, write, exec, task_limits(*this));
}

Fault Task::read_mem(uint64_t addr, void *out, uint64_t len) {
  MmFaultLock lock(*mm_);
  return mm_->read_mem(addr, static_cast<uint8_t *>(out), len, task_limits(*this));
}

Fault Task::write_mem(uint64_t addr, const void *in, uint64_t len) {
  MmFaultLock lock(*mm_);
  return mm_->write_mem(addr, static_cast<const uint8_t *>(in), len, task_limits(*this));
}

Fault Task::fill_mem(uint64_t addr, uint8_t byte, uint64_t len) {
  MmFaultLock lock(*mm_);
  return mm_->fill_mem(addr, byte, len, task_limits(*this));
}

Process::Rss Task::rss() const {
  MmWriteLock lock(*mm_);
  mm_->drop_stale();
  Process::Rss r;
  r.anon = mm_->rss_anon;
  r.file = mm_->rss_file;
  r.shmem = mm_->rss_shmem;
  r.hiwater = std::max(mm_->hiwater_rss, mm_->rss());
  return r;
}

uint64_t Task::brk(uint64_t addr) {
  MmWriteLock lock(*mm_);
  if (!mm_->prepare_change()) return mm_->brk;  // brk fails by keeping the old break
  try {
    return mm_->do_brk(addr, task_limits(*this));
  } catch (const std::bad_alloc &) {
    return mm_->brk;  // the host ran out of memory before anything changed
  }
}

Result<uint64_t> Task::mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
                              uint64_t new_addr) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->mremap(addr, old_len, new_len, flags, new_addr, task_limits(*this));
}

Result<void> Task::mlock(uint64_t addr, uint64_t len) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->mlock(addr, len, vm::locked, task_limits(*this));
}

Result<void> Task::mlock2(uint64_t addr, uint64_t len, uint64_t flags) {
  // flags is an int in the system call.
  uint32_t f = static_cast<uint32_t>(flags);
  if (f & ~1u) return fail(Errno::inval);
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->mlock(addr, len, vm::locked | ((f & 1u) ? vm::lockonfault : 0), task_limits(*this));
}

Result<void> Task::munlock(uint64_t addr, uint64_t len) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->munlock(addr, len);
}

Result<void> Task::mlockall(uint64_t flags) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->mlockall(static_cast<uint32_t>(flags), task_limits(*this));
}

Result<void> Task::munlockall() {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->munlockall();
}

Result<void> Task::madvise(uint64_t addr, uint64_t len, uint64_t advice) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->madvise(addr, len, static_cast<int>(static_cast<uint32_t>(advice)),
                      task_limits(*this));
}

Result<void> Task::mseal(uint64_t addr, uint64_t len, uint64_t flags) {
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->mseal(addr, len, flags);
}

Result<void> Task::msync(uint64_t start, uint64_t len, uint64_t flags) {
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(mm_->msync(start, len, flags));
  // MS_SYNC writes the shared file pages back and reports a write-back error (MS_ASYNC
  // only schedules it, which the next sync or the file's end does).
  if (flags & lx::ms_sync)
    return mm_->sync_range(start, start + ((len + mm_->page_size - 1) & ~(mm_->page_size - 1)));
  return {};
}

Result<void> Task::mincore(uint64_t start, uint64_t len, uint64_t vec) {
  return mincore_common(start, len, vec, nullptr, false);
}

Result<void> Task::mincore(uint64_t start, uint64_t len, uint8_t *host_vec) {
  return mincore_common(start, len, 0, host_vec, true);
}

// Linux: mm/mincore.c sys_mincore: checks, then the range a VMA at a time under mmap_lock,
// writing each part of the vector after the lock is dropped (copy_to_user: a guest store
// that faults pages in, or fails with EFAULT). The residency itself comes with the page
// layer: every page is reported as not resident.
Result<void> Task::mincore_common(uint64_t start, uint64_t len, uint64_t vec, uint8_t *host_vec,
                                  bool host) {
  AddressSpace &mm = *mm_;
  uint64_t pages = 0;
  VMS_TRY(mm.mincore_check(start, len, host ? 0 : vec, !host, &pages));
  // Linux fills at most a page of vector at a time. Without a vector to fill (a script's
  // placeholder) only the errors count: a VMA at a time.
  const bool fill = !host || host_vec;
  std::vector<uint8_t> chunk(fill ? std::min<uint64_t>(pages, mm.page_size) : 0);
  while (pages) {
    uint64_t done;
    {
      std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
      Result<uint64_t> step =
          mm.mincore_step(start, fill ? std::min<uint64_t>(pages, chunk.size()) : pages);
      if (!step) return fail(step.error());
      done = *step;
      if (fill) mm.mincore_fill(start, done, chunk.data(), privileged_);
    }
    if (host) {
      if (host_vec) std::memcpy(host_vec, chunk.data(), done);
      if (host_vec) host_vec += done;
    } else {
      // copy_to_user: guest stores, which fault pages in (or fail with EFAULT).
      if (write_mem(vec, chunk.data(), done)) return fail(Errno::fault);
      vec += done;
    }
    pages -= done;
    start += done << mm.page_shift;
  }
  return {};
}

Result<void> Task::set_vma_anon_name(uint64_t addr, uint64_t len, const char *name) {
  if (!state_.cfg.anon_vma_name) return fail(Errno::inval);
  Ref<AnonName> n;
  if (name) {
    size_t l = std::strlen(name);
    if (l >= 80) return fail(Errno::inval);  // ANON_VMA_NAME_MAX_LEN, NUL included
    for (size_t i = 0; i < l; i++) {
      unsigned char c = static_cast<unsigned char>(name[i]);
      if (c <= 0x1f || c >= 0x7f || std::strchr("\\`$[]", c)) return fail(Errno::inval);
    }
    n = make_ref<AnonName>(std::string(name));
  }
  MmWriteLock lock(*mm_);
  VMS_TRY(mm_->prepare_change());
  return mm_->set_anon_name(addr, len, n.get());
}

}  // namespace vmspace
