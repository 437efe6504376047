// System: the kernel object that owns processes and shared state.
#include "vmspace/system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sys/task.hpp"

#include "file/fd_table.hpp"
#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

namespace {
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
std::unique_ptr<FileSystem> default_fs(const SystemConfig &cfg) {
  SandboxOptions o;
  o.root = cfg.root_dir;
  o.allow_host_read = cfg.allow_host_read;
  o.max_files = cfg.max_sandbox_files;
  o.max_bytes = cfg.max_sandbox_bytes;
  return make_sandbox_fs(o);
}
}  // namespace

SystemState::SystemState(SystemConfig c, std::unique_ptr<FileSystem> file_system)
    : MmContext(c), config(std::move(c)), fs(std::move(file_system)) {
  if (!fs) fs = default_fs(config);
  root_capabilities = config.root_capabilities == SystemConfig::kHostCapabilities
                          ? host_root_capabilities()
                          : config.root_capabilities;
  placeholder = null_device(*this);
}

Result<Ref<OpenFile>> make_open_file(SystemState &s, OpenedFile o, uint64_t flags) {
  const FileView &v = o.view;
  if (v.device) {
    if (o.host_fd >= 0) ::close(o.host_fd);
    Ref<Inode> in = s.inodes.device(v.block, v.rdev_major, v.rdev_minor, v.dev_major, v.dev_minor,
                                    v.ino, v.path);
    return make_ref<OpenFile>(std::move(in), flags, -1);
  }
  Ref<Inode> in = s.inodes.host(o.host_fd);
  if (!in) {
    const int e = errno;
    ::close(o.host_fd);
    return fail(static_cast<Errno>(e ? e : EIO));
  }
  Ref<OpenFile> f = make_ref<OpenFile>(std::move(in), flags, o.host_fd);
  if (!v.path.empty())
    f->set_path_override(v.path);
  else if (!v.strip_prefix.empty())
    f->set_path_strip(v.strip_prefix);
  if (v.has_identity) f->set_identity_override(v.dev_major, v.dev_minor, v.ino);
  return f;
}

Ref<OpenFile> null_device(SystemState &s) {
  Ref<Inode> in = s.inodes.device(false, 1, 3, 0, 5, 3, "/dev/null");
  return make_ref<OpenFile>(std::move(in), lx::o_rdwr, -1);
}

System::System(SystemConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg), nullptr)) {}

System::System(SystemConfig cfg, std::unique_ptr<FileSystem> fs)
    : impl_(std::make_unique<Impl>(std::move(cfg), std::move(fs))) {}

System::~System() { impl_->shutdown(); }

const SystemConfig &System::config() const { return impl_->config; }

Process System::spawn(const SpawnOptions &opts) {
  SystemState &k = *impl_;
  int pid;
  {
    MutexLock g(k.procs_mu);
    pid = k.next_pid++;
  }
  // Built outside procs_mu (it is the innermost lock; see docs/locking.md).
  auto t = std::make_shared<Task>(this, k, pid);
  t->rlim_cur_[lx::rlimit_stack] = opts.rlimit_stack;
  t->rlim_cur_[lx::rlimit_memlock] = t->rlim_max_[lx::rlimit_memlock] = opts.rlimit_memlock;
  t->privileged_ = opts.privileged;
  t->caps_ = opts.privileged ? k.root_capabilities : 0;
  t->mm_ = std::make_shared<AddressSpace>(k, opts.rlimit_stack);
  if (opts.kernel_mappings) t->mm_->install_kernel_mappings();
  if (opts.std_fds) {
    // Standard input, output and error: /dev/null, which (like a terminal) cannot be mapped.
    for (int i = 0; i < 3; i++) (void)t->files_->install(null_device(k), false, 3);
  }
  {
    MutexLock g(k.procs_mu);
    k.procs[pid] = t;
  }
  return Process(this, std::move(t));
}

Process System::process(int pid) {
  SystemState &k = *impl_;
  MutexLock g(k.procs_mu);
  auto it = k.procs.find(pid);
  return it == k.procs.end() ? Process() : Process(this, it->second);
}

std::vector<int> System::pids() const {
  SystemState &k = *impl_;
  MutexLock g(k.procs_mu);
  std::vector<int> out;
  for (const auto &[pid, t] : k.procs) out.push_back(pid);
  return out;
}

void System::exit_process(int pid) { impl_->end_group(pid, 0, 0); }

void System::exit_task(int pid) { impl_->end_task(pid); }

void SystemState::end_group(int pid, int status, int signal) {
  std::vector<std::shared_ptr<Task>> gone;
  {
    MutexLock g(procs_mu);
    auto it = procs.find(pid);
    if (it == procs.end()) return;
    const int tgid = it->second->tgid();
    for (auto j = procs.begin(); j != procs.end();) {
      if (j->second->tgid() == tgid) {
        gone.push_back(std::move(j->second));
        j = procs.erase(j);
      } else {
        ++j;
      }
    }
  }
  // Each dies once no call is running on it.
  for (const std::shared_ptr<Task> &t : gone) {
    std::unique_lock<SharedLock> l(t->life_mu);
    t->die(status, signal);
  }
}

bool SystemState::oom_kill(int requester) {
  // The candidates under the process table's lock, their points under their own mm locks.
  std::vector<std::shared_ptr<Task>> leaders;
  std::shared_ptr<Task> self;
  {
    MutexLock g(procs_mu);
    for (const auto &[pid, t] : procs) {
      if (t->tgid() == pid) leaders.push_back(t);
      if (pid == requester) self = t;
    }
  }
  std::shared_ptr<Task> victim;
  uint64_t best = 0, victim_mm = 0, self_mm = 0;
  if (self) (void)self->oom_points(&self_mm);
  for (const std::shared_ptr<Task> &t : leaders) {
    uint64_t mm = 0;
    const uint64_t points = t->oom_points(&mm);
    if (!mm) continue;                // gone meanwhile
    if (!victim || points >= best) {  // oom_evaluate_task: a later task wins a tie
      victim = t;
      best = points;
      victim_mm = mm;
    }
  }
  const bool other = victim && (!self || (victim->tgid() != self->tgid() && victim_mm != self_mm));
  const int pid = other ? victim->pid() : (self ? self->tgid() : requester);
  end_group(pid, 0, lx::sigkill);
  std::function<void(int)> tell;
  {
    MutexLock g(oom_mu);
    oom_victims.push_back(pid);
    tell = oom_listener;
  }
  if (tell) tell(pid);
  return other;
}

void SystemState::end_task(int pid) {
  std::shared_ptr<Task> gone;
  {
    MutexLock g(procs_mu);
    auto it = procs.find(pid);
    if (it == procs.end()) return;
    gone = std::move(it->second);
    procs.erase(it);
  }
  std::unique_lock<SharedLock> l(gone->life_mu);
  gone->die(0, 0);
}

void SystemState::shutdown() {
  std::map<int, std::shared_ptr<Task>> all;
  {
    MutexLock g(procs_mu);
    all.swap(procs);
  }
  for (auto &[pid, t] : all) {
    std::unique_lock<SharedLock> l(t->life_mu);
    t->die(0, lx::sigkill);
  }
}

Result<int> SystemState::clone_task(Task &parent, uint64_t flags) {
  constexpr uint64_t kCloneVm = lx::clone_vm, kCloneFiles = lx::clone_files,
                     kCloneThread = lx::clone_thread, kCloneSighand = lx::clone_sighand;
  // Linux: copy_process argument checks.
  if ((flags & kCloneThread) && !(flags & kCloneSighand)) return fail(Errno::inval);
  if ((flags & kCloneSighand) && !(flags & kCloneVm)) return fail(Errno::inval);
  // The copy of the address space and descriptor table must fit (Linux: dup_mm failing to
  // allocate gives ENOMEM).
  const uint64_t fd_bytes =
      (flags & kCloneFiles) ? 0 : static_cast<uint64_t>(parent.files_->footprint());
  std::shared_ptr<AddressSpace> mm;
  if (flags & kCloneVm) {
    VMS_TRY(memory_available(*this, AddressSpace::kFixedBytes + fd_bytes));
    mm = parent.mm_;
  } else {
    MmWriteLock lock(*parent.mm_);
    VMS_TRY(
        memory_available(*this, AddressSpace::kFixedBytes + parent.mm_->vmas.bytes() + fd_bytes));
    TaskLimits lim;
    lim.cap_sys_admin = parent.has_capability(cap::sys_admin);
    Result<std::shared_ptr<AddressSpace>> copy = parent.mm_->fork_copy(lim);
    if (!copy) return fail(copy.error());
    mm = *copy;
  }
  int pid;
  {
    MutexLock g(procs_mu);
    pid = next_pid++;
  }
  // Built outside procs_mu (it is the innermost lock; see docs/locking.md).
  auto t = std::make_shared<Task>(parent.sys_, *this, pid);
  t->mm_ = std::move(mm);
  t->files_ = (flags & kCloneFiles) ? parent.files_ : std::make_shared<FdTable>(*parent.files_);
  for (int i = 0; i < 16; i++) {
    t->rlim_cur_[i] = parent.rlim_cur_[i];
    t->rlim_max_[i] = parent.rlim_max_[i];
  }
  t->privileged_ = parent.privileged_;
  t->caps_ = parent.caps_;
  t->cwd_ = parent.cwd_;
  if (flags & kCloneThread) t->tgid_ = parent.tgid_;
  MutexLock g(procs_mu);
  procs[pid] = std::move(t);
  return pid;
}

namespace {
// The vm sysctls a System has, with the largest value each takes (Linux: their proc_handler
// bounds; int settings end at INT_MAX).
struct SysctlDef {
  std::string_view name;
  uint64_t max;
};
constexpr SysctlDef kSysctls[] = {
    {"vm.max_map_count", INT32_MAX},
    {"vm.mmap_min_addr", UINT64_MAX - 1},
    {"vm.overcommit_memory", 2},
    {"vm.overcommit_ratio", INT32_MAX},
    {"vm.overcommit_kbytes", UINT64_MAX / 1024},
    {"vm.nr_hugepages", UINT64_MAX - 1},
    {"vm.legacy_va_layout", INT32_MAX},
};
}  // namespace

Result<void> System::set_sysctl(std::string_view name, uint64_t value) {
  const SysctlDef *d = nullptr;
  for (const SysctlDef &k : kSysctls)
    if (k.name == name) d = &k;
  if (!d || value > d->max) return fail(Errno::inval);
  MmSettings &c = impl_->cfg;
  if (name == "vm.max_map_count")
    c.max_map_count = value;
  else if (name == "vm.mmap_min_addr")
    c.mmap_min_addr = value;
  else if (name == "vm.overcommit_memory")
    c.overcommit_memory = static_cast<int>(value);
  else if (name == "vm.overcommit_ratio")
    c.overcommit_ratio = value;
  else if (name == "vm.overcommit_kbytes")
    c.overcommit_kbytes = value;
  else if (name == "vm.nr_hugepages")
    impl_->inodes.set_huge_pool(value, impl_->inodes.huge_free(1ull << 30));
  else if (name == "vm.legacy_va_layout")
    c.legacy_va_layout = value != 0;
  return {};
}

Result<uint64_t> System::sysctl(std::string_view name) const {
  const MmSettings &c = impl_->cfg;
  if (name == "vm.max_map_count") return c.max_map_count.load();
  if (name == "vm.mmap_min_addr") return c.mmap_min_addr.load();
  if (name == "vm.overcommit_memory") return static_cast<uint64_t>(c.overcommit_memory.load());
  if (name == "vm.overcommit_ratio") return c.overcommit_ratio.load();
  if (name == "vm.overcommit_kbytes") return c.overcommit_kbytes.load();
  if (name == "vm.nr_hugepages") return impl_->inodes.huge_free(2ull << 20);
  if (name == "vm.legacy_va_layout") return c.legacy_va_layout.load() ? 1 : 0;
  return fail(Errno::inval);
}

uint64_t System::memory_used() const { return impl_->meter.used(); }
uint64_t System::memory_limit() const { return impl_->meter.limit(); }
bool System::memory_exhausted() const { return impl_->meter.exhausted(); }

void System::set_oom_listener(std::function<void(int pid)> listener) {
  MutexLock g(impl_->oom_mu);
  impl_->oom_listener = std::move(listener);
}

std::vector<int> System::oom_victims() const {
  MutexLock g(impl_->oom_mu);
  return impl_->oom_victims;
}

std::string System::take_sandbox_violation() { return impl_->fs->take_violation(); }

}  // namespace vmspace
