// System: the kernel object that owns processes and shared state.
#include "vmspace/system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "sys/task.hpp"

#include "file/fd_table.hpp"
#include "mm/address_space.hpp"
#include "mm/system_state.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

namespace {
// MemTotal and SwapTotal of the host, in bytes.
void host_memory(uint64_t *ram, uint64_t *swap) {
  *ram = 0;
  *swap = 0;
  FILE *f = std::fopen("/proc/meminfo", "r");
  if (!f) return;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb;
    if (std::sscanf(line, "MemTotal: %llu kB", &kb) == 1) *ram = kb * 1024;
    if (std::sscanf(line, "SwapTotal: %llu kB", &kb) == 1) *swap = kb * 1024;
  }
  std::fclose(f);
}
// The effective capabilities of this (host) process if it is root, else all of them.
uint64_t host_root_capabilities() {
  if (::geteuid() != 0) return ~0ull;
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f) return ~0ull;
  char line[256];
  uint64_t caps = ~0ull;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long v;
    if (std::sscanf(line, "CapEff: %llx", &v) == 1) caps = v;
  }
  std::fclose(f);
  return caps;
}
}  // namespace

namespace {
uint64_t memory_limit_of(const SystemConfig &cfg) {
  if (cfg.max_memory) return cfg.max_memory;
  uint64_t ram = 0, swap = 0;
  host_memory(&ram, &swap);
  return ram ? ram / 4 : 1ull << 30;
}

Vfs::Options vfs_options(const SystemConfig &cfg) {
  Vfs::Options o;
  o.allow_host_read = cfg.allow_host_read;
  o.standin_host_writes = cfg.standin_host_writes;
  o.recorded_only = cfg.recorded_files_only;
  o.limits.max_files = cfg.max_sandbox_files;
  o.limits.max_bytes = cfg.max_sandbox_bytes;
  return o;
}
}  // namespace

SystemState::SystemState(SystemConfig c)
    : cfg(std::move(c)), meter(memory_limit_of(cfg)), vfs(inodes, cfg.root_dir, vfs_options(cfg)) {
  uint64_t ram = cfg.total_ram_bytes, swap = cfg.total_swap_bytes;
  if (ram == 0) host_memory(&ram, &swap);
  total_ram_pages = ram / cfg.page_size;
  total_swap_pages = swap / cfg.page_size;
  inodes.set_huge_pool(cfg.hugepages_2m, cfg.hugepages_1g);
  if (cfg.root_capabilities == SystemConfig::kHostCapabilities)
    cfg.root_capabilities = host_root_capabilities();
}

System::System(SystemConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

System::~System() {
  // Processes go first: they hold files whose inodes live in the cache.
  impl_->procs.clear();
}

SystemConfig &System::config() { return impl_->cfg; }
const SystemConfig &System::config() const { return impl_->cfg; }

Process &System::spawn(const SpawnOptions &opts) {
  std::lock_guard<std::mutex> g(impl_->procs_mu);
  int pid = impl_->next_pid++;
  auto p = std::unique_ptr<Process>(new Process(this, pid));
  p->rlim_cur_[lx::rlimit_stack] = opts.rlimit_stack;
  p->rlim_cur_[lx::rlimit_memlock] = p->rlim_max_[lx::rlimit_memlock] = opts.rlimit_memlock;
  p->privileged_ = opts.privileged;
  p->caps_ = opts.privileged ? impl_->cfg.root_capabilities : 0;
  p->mm_ = std::make_shared<AddressSpace>(*impl_, opts.rlimit_stack);
  if (opts.kernel_mappings) p->mm_->install_kernel_mappings();
  if (opts.std_fds) {
    // Standard input, output and error: /dev/null, which (like a terminal) cannot be mapped.
    for (int i = 0; i < 3; i++) (void)p->files_->install(impl_->vfs.null_device(), false, 3);
  }
  Process &ref = *p;
  impl_->procs[pid] = std::move(p);
  return ref;
}

Process *System::process(int pid) {
  std::lock_guard<std::mutex> g(impl_->procs_mu);
  auto it = impl_->procs.find(pid);
  return it == impl_->procs.end() ? nullptr : it->second.get();
}

void System::exit_process(int pid) {
  std::vector<std::unique_ptr<Process>> gone;
  {
    std::lock_guard<std::mutex> g(impl_->procs_mu);
    auto it = impl_->procs.find(pid);
    if (it == impl_->procs.end()) return;
    int tgid = it->second->tgid();
    for (auto j = impl_->procs.begin(); j != impl_->procs.end();) {
      if (j->second->tgid() == tgid) {
        gone.push_back(std::move(j->second));
        j = impl_->procs.erase(j);
      } else {
        ++j;
      }
    }
  }
}

void System::exit_task(int pid) {
  std::unique_ptr<Process> gone;
  std::lock_guard<std::mutex> g(impl_->procs_mu);
  auto it = impl_->procs.find(pid);
  if (it == impl_->procs.end()) return;
  gone = std::move(it->second);
  impl_->procs.erase(it);
}

Result<int> System::clone_process(Process &parent, uint64_t flags) {
  constexpr uint64_t kCloneVm = lx::clone_vm, kCloneFiles = lx::clone_files,
                     kCloneThread = lx::clone_thread, kCloneSighand = lx::clone_sighand;
  // Linux: copy_process argument checks.
  if ((flags & kCloneThread) && !(flags & kCloneSighand)) return fail(Errno::inval);
  if ((flags & kCloneSighand) && !(flags & kCloneVm)) return fail(Errno::inval);
  // The copy of the address space and descriptor table must fit (Linux: dup_mm failing to
  // allocate gives ENOMEM).
  VMS_TRY(memory_available(
      *impl_, AddressSpace::kFixedBytes + ((flags & kCloneVm) ? 0 : parent.mm_->vmas.bytes()) +
                  ((flags & kCloneFiles) ? 0 : static_cast<uint64_t>(parent.files_->footprint()))));
  std::shared_ptr<AddressSpace> mm;
  if (flags & kCloneVm) {
    mm = parent.mm_;
  } else {
    std::unique_lock<std::shared_mutex> lock(parent.mm_->mmap_lock);
    TaskLimits lim;
    lim.cap_sys_admin = parent.has_capability(cap::sys_admin);
    Result<std::shared_ptr<AddressSpace>> copy = parent.mm_->fork_copy(lim);
    if (!copy) return fail(copy.error());
    mm = *copy;
  }
  std::lock_guard<std::mutex> g(impl_->procs_mu);
  int pid = impl_->next_pid++;
  auto p = std::unique_ptr<Process>(new Process(this, pid));
  p->mm_ = std::move(mm);
  p->files_ = (flags & kCloneFiles) ? parent.files_ : std::make_shared<FdTable>(*parent.files_);
  for (int i = 0; i < 16; i++) {
    p->rlim_cur_[i] = parent.rlim_cur_[i];
    p->rlim_max_[i] = parent.rlim_max_[i];
  }
  p->privileged_ = parent.privileged_;
  p->caps_ = parent.caps_;
  p->cwd_ = parent.cwd_;
  if (flags & kCloneThread) p->tgid_ = parent.tgid_;
  impl_->procs[pid] = std::move(p);
  return pid;
}

uint64_t System::memory_used() const { return impl_->meter.used(); }
uint64_t System::memory_limit() const { return impl_->meter.limit(); }
bool System::memory_exhausted() const { return impl_->meter.exhausted(); }

std::string System::take_sandbox_violation() {
  std::lock_guard<std::mutex> g(impl_->violation_mu);
  std::string v = std::move(impl_->violation);
  impl_->violation.clear();
  return v;
}

}  // namespace vmspace
