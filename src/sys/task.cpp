// Task: construction, death, limits and state queries.
#include "sys/task.hpp"

#include <mutex>

#include "file/fd_table.hpp"
#include "mm/address_space.hpp"
#include "proc/layout_import.hpp"
#include "proc/maps.hpp"
#include "sys/kernel.hpp"

namespace vmspace {

Task::Task(System *sys, SystemState &state, int pid)
    : sys_(sys), state_(state), pid_(pid), tgid_(pid) {
  for (int i = 0; i < 16; i++) rlim_cur_[i] = rlim_max_[i] = lx::rlim_infinity;
  rlim_cur_[lx::rlimit_stack] = 8ull << 20;
  rlim_cur_[lx::rlimit_core] = 0;
  rlim_cur_[lx::rlimit_nofile] = 1024;
  rlim_max_[lx::rlimit_nofile] = lx::nr_open;
  rlim_cur_[lx::rlimit_memlock] = rlim_max_[lx::rlimit_memlock] = 8ull << 20;
  rlim_cur_[lx::rlimit_nproc] = rlim_max_[lx::rlimit_nproc] = 96365;
  rlim_cur_[lx::rlimit_sigpending] = rlim_max_[lx::rlimit_sigpending] = 96365;
  rlim_cur_[lx::rlimit_msgqueue] = rlim_max_[lx::rlimit_msgqueue] = 819200;
  rlim_cur_[lx::rlimit_nice] = rlim_max_[lx::rlimit_nice] = 0;
  rlim_cur_[lx::rlimit_rtprio] = rlim_max_[lx::rlimit_rtprio] = 0;
  files_ = std::make_shared<FdTable>();
  files_->set_meter(&state.meter);
  state.meter.charge(kTaskBytes);
}

// (A handle may keep the object after its System is gone: the destructor touches nothing of
// the System; die() gave everything back.)
Task::~Task() = default;

void Task::die(int status, int signal) {
  if (!alive) return;
  alive = false;
  exit_status = status;
  exit_signal = signal;
  mm_.reset();
  files_.reset();
  state_.meter.charge(-kTaskBytes);
}

void Task::set_layout_listener(std::function<void(const LayoutChange &)> l) {
  MmWriteLock lock(*mm_);
  mm_->listener = std::move(l);
}

MmLayout Task::layout() const {
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  MmLayout l;
  l.start_code = mm_->start_code;
  l.end_code = mm_->end_code;
  l.start_data = mm_->start_data;
  l.end_data = mm_->end_data;
  l.start_brk = mm_->start_brk;
  l.brk = mm_->brk;
  l.start_stack = mm_->start_stack;
  l.start_ip = mm_->start_ip;
  l.mmap_base = mm_->mmap_base;
  return l;
}

uint64_t Task::rlimit_cur(int r) const { return (r >= 0 && r < 16) ? rlim_cur_[r] : 0; }
uint64_t Task::rlimit_max(int r) const { return (r >= 0 && r < 16) ? rlim_max_[r] : 0; }

Result<void> Task::set_rlimit(int r, uint64_t soft, uint64_t hard) {
  if (r < 0 || r >= 16) return fail(Errno::inval);
  if (soft > hard) return fail(Errno::inval);
  if (hard > rlim_max_[r] && !has_capability(cap::sys_resource)) return fail(Errno::perm);
  if (r == lx::rlimit_nofile && hard > lx::nr_open) return fail(Errno::perm);
  rlim_cur_[r] = soft;
  rlim_max_[r] = hard;
  return {};
}

uint64_t Task::mm_id() const { return mm_->id; }

uint64_t Task::oom_points(uint64_t *mm) const {
  std::shared_lock<SharedLock> life(life_mu);
  *mm = 0;
  if (!alive) return 0;
  *mm = mm_->id;
  MmWriteLock lock(*mm_);
  return mm_->rss() + mm_->pt.table_bytes() / mm_->page_size;
}

std::string Task::status() const {
  MmWriteLock lock(*mm_);
  mm_->drop_stale();
  return render_status(*mm_);
}

std::string Task::smaps(uint64_t addr) const {
  MmWriteLock lock(*mm_);
  mm_->drop_stale();
  const Vma *v = mm_->vmas.tree.find(addr);
  std::string out;
  if (v && v->start <= addr) render_smaps_entry(*mm_, *v, out);
  return out;
}

std::string Task::smaps_rollup() const {
  MmWriteLock lock(*mm_);
  mm_->drop_stale();
  std::string out;
  render_smaps_rollup(*mm_, out);
  return out;
}

void Task::set_status_base(const Process::StatusBase &b) {
  MmWriteLock lock(*mm_);
  AddressSpace &mm = *mm_;
  const unsigned to_kb = mm.page_shift - 10;
  auto pages = [&](uint64_t kb, uint64_t have) {
    const uint64_t p = kb >> to_kb;
    return p > have ? p - have : 0;
  };
  mm.rss_base[0] = pages(b.rss_anon_kb, mm.rss_anon);
  mm.rss_base[1] = pages(b.rss_file_kb, mm.rss_file);
  mm.rss_base[2] = pages(b.rss_shmem_kb, mm.rss_shmem);
  mm.rss_base[3] = b.hwm_kb >> to_kb;
  const uint64_t pte_kb = mm.pt.table_bytes() >> 10;
  mm.rss_base[4] = b.pte_kb > pte_kb ? b.pte_kb - pte_kb : 0;
}

bool Task::import_layout(std::string_view text, std::string *error) {
  SystemState &s = state_;
  // Mapped files are reopened read-only by their paths, as the sandbox allows.
  return vmspace::import_layout(
      *mm_, text,
      [&s](const std::string &path) -> Result<Ref<OpenFile>> {
        Result<OpenedFile> o = s.fs->open(-1, path, lx::o_rdonly, 0, true);
        if (!o) return fail(o.error());
        return make_open_file(s, std::move(*o), lx::o_rdonly);
      },
      error);
}

std::string Task::maps() const {
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  return render_maps(*mm_);
}

int Task::map_count() const {
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  return mm_->vmas.map_count();
}

std::vector<VmaInfo> Task::vmas() const {
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  std::vector<VmaInfo> out;
  for (const Vma *v = mm_->vmas.tree.first(); v; v = VmaTree::next(v)) {
    VmaInfo i;
    i.start = v->start;
    i.end = v->end;
    i.flags = v->flags;
    i.pgoff = v->pgoff;
    i.anonymous = v->is_anonymous();
    i.has_anon_vma = static_cast<bool>(v->anon);
    i.anon_vma_id = v->anon ? v->anon->id() : 0;
    if (v->file) {
      i.dev_major = v->file->dev_major();
      i.dev_minor = v->file->dev_minor();
      i.ino = v->file->ino();
    }
    i.name = vma_name(*mm_, *v);
    out.push_back(std::move(i));
  }
  return out;
}

bool Task::validate(std::string *why) const {
  std::shared_lock<std::shared_mutex> lock(mm_->mmap_lock);
  return mm_->validate(why);
}

}  // namespace vmspace

namespace vmspace {

Result<int> Task::fork() { return state_.clone_task(*this, lx::sigchld); }

Result<int> Task::vfork() {
  // CLONE_VM | CLONE_VFORK | SIGCHLD: the child runs in this address space.
  return state_.clone_task(*this, lx::clone_vm | lx::clone_vfork | lx::sigchld);
}

Result<int> Task::clone(uint64_t flags) { return state_.clone_task(*this, flags); }

}  // namespace vmspace
