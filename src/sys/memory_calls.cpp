// Front ends of brk, mremap, the mlock family, madvise, msync, mincore, mseal
// and prctl(PR_SET_VMA): decode, lock, hand over to the AddressSpace.
#include <cstring>
#include <mutex>

#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

Fault Process::access(uint64_t addr, uint64_t len, bool write, bool exec) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  return mm_->access(addr, len, write, exec, task_limits(*this));
}

uint64_t Process::brk(uint64_t addr) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  if (!memory_available(mm_->ctx)) return mm_->brk;  // brk fails by keeping the old break
  return mm_->do_brk(addr, task_limits(*this));
}

Result<uint64_t> Process::mremap(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
                                 uint64_t new_addr) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->mremap(addr, old_len, new_len, flags, new_addr, task_limits(*this));
}

Result<void> Process::mlock(uint64_t addr, uint64_t len) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->mlock(addr, len, vm::locked, task_limits(*this));
}

Result<void> Process::mlock2(uint64_t addr, uint64_t len, uint64_t flags) {
  // flags is an int in the system call.
  uint32_t f = static_cast<uint32_t>(flags);
  if (f & ~1u) return fail(Errno::inval);
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->mlock(addr, len, vm::locked | ((f & 1u) ? vm::lockonfault : 0), task_limits(*this));
}

Result<void> Process::munlock(uint64_t addr, uint64_t len) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->munlock(addr, len);
}

Result<void> Process::mlockall(uint64_t flags) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->mlockall(static_cast<uint32_t>(flags), task_limits(*this));
}

Result<void> Process::munlockall() {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->munlockall();
}

Result<void> Process::madvise(uint64_t addr, uint64_t len, uint64_t advice) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->madvise(addr, len, static_cast<int>(static_cast<uint32_t>(advice)),
                      task_limits(*this));
}

Result<void> Process::mseal(uint64_t addr, uint64_t len, uint64_t flags) {
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  VMS_TRY(memory_available(mm_->ctx));
  return mm_->mseal(addr, len, flags);
}

// Linux: mm/msync.c sys_msync.
Result<void> Process::msync(uint64_t start, uint64_t len, uint64_t flags_in) {
  constexpr uint32_t kAsync = lx::ms_async, kInvalidate = lx::ms_invalidate, kSync = lx::ms_sync;
  const uint32_t flags = static_cast<uint32_t>(flags_in);
  const AddressSpace &mm = *mm_;
  if (flags & ~(kAsync | kInvalidate | kSync)) return fail(Errno::inval);
  if (!mm.page_aligned(start)) return fail(Errno::inval);
  if ((flags & kAsync) && (flags & kSync)) return fail(Errno::inval);
  len = mm.page_align(len);
  uint64_t end = start + len;
  if (end < start) return fail(Errno::nomem);
  if (end == start) return {};
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  Errno unmapped = Errno::none;
  const Vma *v = mm.vmas.tree.find(start);
  for (;;) {
    if (!v) return fail(Errno::nomem);
    if (start < v->start) {
      if (flags == kAsync) return fail(Errno::nomem);
      start = v->start;
      if (start >= end) return fail(Errno::nomem);
      unmapped = Errno::nomem;
    }
    if ((flags & kInvalidate) && (v->flags & vm::locked)) return fail(Errno::busy);
    start = v->end;
    // MS_SYNC of a shared file range writes it back here (page layer); it
    // cannot fail yet.
    if (start >= end) break;
    v = mm.vmas.tree.find(v->end);
  }
  if (unmapped != Errno::none) return fail(unmapped);
  return {};
}

// Linux: mm/mincore.c sys_mincore (the residency vector comes with the page
// layer).
Result<void> Process::mincore(uint64_t start, uint64_t len, uint64_t vec) {
  const AddressSpace &mm = *mm_;
  if (!mm.page_aligned(start)) return fail(Errno::inval);
  // access_ok(start, len)
  const uint64_t limit = mm.task_size;
  if (len > limit || start > limit - len) return fail(Errno::nomem);
  uint64_t pages = (len >> mm.page_shift) + ((len & (mm.page_size - 1)) != 0);
  const bool any_buffer = vec == ~0ull;  // a vector outside guest memory (scripts)
  if (!any_buffer && (pages > limit || vec > limit - pages)) return fail(Errno::fault);
  while (pages) {
    uint64_t done;
    {
      // Linux: do_mincore takes at most a page of vector at a time under mmap_lock; the VMA
      // layer takes a VMA at a time (the same faults and errors, in the same order, in steps
      // that do not grow with the length).
      std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
      const Vma *v = mm.vmas.tree.find(start);
      if (!v || v->start > start) return fail(Errno::nomem);
      const uint64_t in_vma = (v->end - start) >> mm.page_shift;
      const uint64_t end = start + ((pages < in_vma ? pages : in_vma) << mm.page_shift);
      done = (end - start) >> mm.page_shift;
    }
    // copy_to_user after the lock is dropped: a guest store that faults pages in (and so
    // gives private VMAs their anon_vma) or fails with EFAULT.
    if (!any_buffer && touch(vec, done, true)) return fail(Errno::fault);
    pages -= done;
    vec += done;
    start += done << mm.page_shift;
  }
  return {};
}

Result<void> Process::set_vma_anon_name(uint64_t addr, uint64_t len, const char *name) {
  if (!sys_->impl().cfg.anon_vma_name) return fail(Errno::inval);
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
  std::unique_lock<std::shared_mutex> lock(mm_->mmap_lock);
  return mm_->set_anon_name(addr, len, n.get());
}

}  // namespace vmspace
