// The C API (include/vmspace/vmspace.h) over the C++ one: handles, -errno results, no
// exception across the boundary (an allocation failure becomes -ENOMEM).
#include "vmspace/accessor.hpp"
#include "vmspace/vmspace.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

struct vms_system {
  vmspace::System sys;
  explicit vms_system(const vmspace::SystemConfig &c) : sys(c) {}
};

struct vms_process {
  vmspace::Process p;
};

struct vms_accessor {
  explicit vms_accessor(const vmspace::Process &p) : a(p) {}
  vmspace::Accessor a;
};

namespace {
using vmspace::Errno;
using vmspace::Result;

int64_t err(Errno e) { return -static_cast<int64_t>(e); }
int64_t of(const Result<void> &r) { return r ? 0 : err(r.error()); }
template <class T>
int64_t of(const Result<T> &r) {
  return r ? static_cast<int64_t>(*r) : err(r.error());
}

// Runs f, turning an exception into -ENOMEM (the only one vmspace throws is std::bad_alloc).
template <class F>
int64_t guarded(vms_process *p, F f) {
  if (!p) return -EINVAL;
  try {
    return f(p->p);
  } catch (...) {
    return -ENOMEM;
  }
}

std::vector<std::string> strings(const char *const *v) {
  std::vector<std::string> out;
  for (; v && *v; v++) out.emplace_back(*v);
  return out;
}

int64_t copy_out(const std::string &s, char *buf, size_t size) {
  if (buf && size) {
    const size_t n = s.size() < size - 1 ? s.size() : size - 1;
    std::memcpy(buf, s.data(), n);
    buf[n] = '\0';
  }
  return static_cast<int64_t>(s.size());
}
}  // namespace

extern "C" {

void vms_config_init(vms_config *cfg) {
  if (!cfg) return;
  const vmspace::SystemConfig d;
  std::memset(cfg, 0, sizeof *cfg);
  cfg->size = sizeof *cfg;
  cfg->page_size = d.page_size;
  cfg->max_map_count = d.max_map_count;
  cfg->mmap_min_addr = d.mmap_min_addr;
  cfg->overcommit_memory = d.overcommit_memory;
  cfg->total_ram_bytes = d.total_ram_bytes;
  cfg->max_memory = d.max_memory;
  cfg->root_dir = nullptr;
  cfg->allow_host_read = d.allow_host_read ? 1 : 0;
}

vms_system *vms_system_new(const vms_config *in) {
  try {
    vmspace::SystemConfig c;
    if (in) {
      // Fields past the caller's size keep their defaults (an older caller's vms_config).
      vms_config cfg;
      vms_config_init(&cfg);
      std::memcpy(&cfg, in, in->size < sizeof cfg ? in->size : sizeof cfg);
      c.page_size = cfg.page_size;
      c.max_map_count = cfg.max_map_count;
      c.mmap_min_addr = cfg.mmap_min_addr;
      c.overcommit_memory = cfg.overcommit_memory;
      c.total_ram_bytes = cfg.total_ram_bytes;
      c.max_memory = cfg.max_memory;
      if (cfg.root_dir) c.root_dir = cfg.root_dir;
      c.allow_host_read = cfg.allow_host_read != 0;
    }
    return new vms_system(c);
  } catch (...) {
    return nullptr;
  }
}

void vms_system_free(vms_system *sys) { delete sys; }

void vms_set_oom_callback(vms_system *sys, void (*cb)(void *arg, int pid), void *arg) {
  if (!sys) return;
  if (!cb) {
    sys->sys.set_oom_listener(nullptr);
    return;
  }
  sys->sys.set_oom_listener([cb, arg](int pid) { cb(arg, pid); });
}

int64_t vms_set_sysctl(vms_system *sys, const char *name, uint64_t value) {
  if (!sys || !name) return -EINVAL;
  return of(sys->sys.set_sysctl(name, value));
}

vms_process *vms_spawn(vms_system *sys) {
  if (!sys) return nullptr;
  try {
    return new vms_process{sys->sys.spawn()};
  } catch (...) {
    return nullptr;
  }
}

vms_process *vms_process_get(vms_system *sys, int pid) {
  if (!sys) return nullptr;
  try {
    vmspace::Process p = sys->sys.process(pid);
    return p ? new vms_process{std::move(p)} : nullptr;
  } catch (...) {
    return nullptr;
  }
}

void vms_process_free(vms_process *p) { delete p; }
int vms_pid(const vms_process *p) { return p ? p->p.pid() : 0; }
int vms_alive(const vms_process *p) { return p && p->p.alive() ? 1 : 0; }

int64_t vms_mmap(vms_process *p, uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags,
                 int64_t fd, uint64_t offset) {
  return guarded(p, [&](vmspace::Process &q) {
    return of(q.mmap(addr, len, prot, flags, static_cast<uint64_t>(fd), offset));
  });
}
int64_t vms_munmap(vms_process *p, uint64_t addr, uint64_t len) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.munmap(addr, len)); });
}
int64_t vms_mprotect(vms_process *p, uint64_t addr, uint64_t len, uint64_t prot) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.mprotect(addr, len, prot)); });
}
int64_t vms_brk(vms_process *p, uint64_t addr) {
  return guarded(p, [&](vmspace::Process &q) {
    if (!q.alive()) return err(Errno::srch);
    return static_cast<int64_t>(q.brk(addr));
  });
}
int64_t vms_mremap(vms_process *p, uint64_t addr, uint64_t old_len, uint64_t new_len,
                   uint64_t flags, uint64_t new_addr) {
  return guarded(p, [&](vmspace::Process &q) {
    return of(q.mremap(addr, old_len, new_len, flags, new_addr));
  });
}
int64_t vms_madvise(vms_process *p, uint64_t addr, uint64_t len, int64_t advice) {
  return guarded(p, [&](vmspace::Process &q) {
    return of(q.madvise(addr, len, static_cast<uint64_t>(advice)));
  });
}
int64_t vms_mlock(vms_process *p, uint64_t addr, uint64_t len) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.mlock(addr, len)); });
}
int64_t vms_mlock2(vms_process *p, uint64_t addr, uint64_t len, uint64_t flags) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.mlock2(addr, len, flags)); });
}
int64_t vms_munlock(vms_process *p, uint64_t addr, uint64_t len) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.munlock(addr, len)); });
}
int64_t vms_mlockall(vms_process *p, uint64_t flags) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.mlockall(flags)); });
}
int64_t vms_munlockall(vms_process *p) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.munlockall()); });
}
int64_t vms_msync(vms_process *p, uint64_t addr, uint64_t len, uint64_t flags) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.msync(addr, len, flags)); });
}
int64_t vms_mincore(vms_process *p, uint64_t addr, uint64_t len, uint64_t vec) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.mincore(addr, len, vec)); });
}
int64_t vms_mseal(vms_process *p, uint64_t addr, uint64_t len, uint64_t flags) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.mseal(addr, len, flags)); });
}

int64_t vms_open(vms_process *p, const char *path, uint64_t flags, uint64_t mode) {
  if (!path) return -EFAULT;
  return guarded(p, [&](vmspace::Process &q) { return of(q.open(path, flags, mode)); });
}
int64_t vms_openat(vms_process *p, int64_t dirfd, const char *path, uint64_t flags, uint64_t mode) {
  if (!path) return -EFAULT;
  return guarded(p, [&](vmspace::Process &q) {
    return of(q.openat(static_cast<uint64_t>(dirfd), path, flags, mode));
  });
}
int64_t vms_close(vms_process *p, uint64_t fd) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.close(fd)); });
}
int64_t vms_dup(vms_process *p, uint64_t fd) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.dup(fd)); });
}
int64_t vms_dup2(vms_process *p, uint64_t oldfd, uint64_t newfd) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.dup2(oldfd, newfd)); });
}
int64_t vms_dup3(vms_process *p, uint64_t oldfd, uint64_t newfd, uint64_t flags) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.dup3(oldfd, newfd, flags)); });
}
int64_t vms_fsync(vms_process *p, uint64_t fd) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.fsync(fd)); });
}

int64_t vms_fdatasync(vms_process *p, uint64_t fd) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.fdatasync(fd)); });
}

int64_t vms_read(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.sys_read(fd, buf, count)); });
}

int64_t vms_write(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.sys_write(fd, buf, count)); });
}

int64_t vms_pread64(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.pread64(fd, buf, count, offset)); });
}

int64_t vms_pwrite64(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.pwrite64(fd, buf, count, offset)); });
}

int64_t vms_lseek(vms_process *p, uint64_t fd, uint64_t offset, uint64_t whence) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.lseek(fd, offset, whence)); });
}

int64_t vms_ftruncate(vms_process *p, uint64_t fd, uint64_t length) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.ftruncate(fd, length)); });
}
int64_t vms_fcntl(vms_process *p, uint64_t fd, uint64_t cmd, uint64_t arg) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.fcntl(fd, cmd, arg)); });
}
int64_t vms_memfd_create(vms_process *p, const char *name, uint64_t flags) {
  if (!name) return -EFAULT;
  return guarded(p, [&](vmspace::Process &q) { return of(q.memfd_create(name, flags)); });
}
int64_t vms_unlinkat(vms_process *p, int64_t dirfd, const char *path, uint64_t flags) {
  if (!path) return -EFAULT;
  return guarded(p, [&](vmspace::Process &q) {
    return of(q.unlinkat(static_cast<uint64_t>(dirfd), path, flags));
  });
}
int64_t vms_renameat2(vms_process *p, int64_t olddirfd, const char *oldpath, int64_t newdirfd,
                      const char *newpath, uint64_t flags) {
  if (!oldpath || !newpath) return -EFAULT;
  return guarded(p, [&](vmspace::Process &q) {
    return of(q.renameat2(static_cast<uint64_t>(olddirfd), oldpath, static_cast<uint64_t>(newdirfd),
                          newpath, flags));
  });
}

int64_t vms_fork(vms_process *p) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.fork()); });
}
int64_t vms_vfork(vms_process *p) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.vfork()); });
}
int64_t vms_clone(vms_process *p, uint64_t flags) {
  return guarded(p, [&](vmspace::Process &q) { return of(q.clone(flags)); });
}
int64_t vms_execve(vms_process *p, const char *path, const char *const *argv,
                   const char *const *envp) {
  if (!path) return -EFAULT;
  return guarded(
      p, [&](vmspace::Process &q) { return of(q.execve(path, strings(argv), strings(envp))); });
}
void vms_exit_group(vms_process *p, int status) {
  (void)guarded(p, [&](vmspace::Process &q) {
    q.exit_group(status);
    return int64_t{0};
  });
}

int64_t vms_maps(vms_process *p, char *buf, size_t size) {
  return guarded(p, [&](vmspace::Process &q) {
    if (!q.alive()) return err(Errno::srch);
    return copy_out(q.maps(), buf, size);
  });
}
int64_t vms_status(vms_process *p, char *buf, size_t size) {
  return guarded(p, [&](vmspace::Process &q) {
    if (!q.alive()) return err(Errno::srch);
    return copy_out(q.status(), buf, size);
  });
}
int64_t vms_smaps(vms_process *p, uint64_t addr, char *buf, size_t size) {
  return guarded(p, [&](vmspace::Process &q) {
    if (!q.alive()) return err(Errno::srch);
    return copy_out(q.smaps(addr), buf, size);
  });
}
int64_t vms_smaps_rollup(vms_process *p, char *buf, size_t size) {
  return guarded(p, [&](vmspace::Process &q) {
    if (!q.alive()) return err(Errno::srch);
    return copy_out(q.smaps_rollup(), buf, size);
  });
}

int64_t vms_set_layout_callback(vms_process *p, vms_layout_callback cb, void *arg) {
  return guarded(p, [&](vmspace::Process &q) {
    if (!q.alive()) return err(Errno::srch);
    if (!cb) {
      q.set_layout_listener(nullptr);
      return int64_t{0};
    }
    const int pid = q.pid();
    q.set_layout_listener([cb, arg, pid](const vmspace::LayoutChange &c) {
      vms_layout_change out;
      out.kind = static_cast<int>(c.kind);
      out.start = c.start;
      out.end = c.end;
      out.prot = c.prot;
      out.to = c.to;
      cb(arg, pid, &out);
    });
    return int64_t{0};
  });
}

}  // extern "C"

namespace {
int fault_out(const vmspace::Fault &f, vms_fault *out) {
  if (out) {
    out->signal = f.signal;
    out->code = f.code;
    out->addr = f.addr;
  }
  return f.signal;
}
}  // namespace

extern "C" {

vms_accessor *vms_accessor_new(vms_process *p) {
  if (!p) return nullptr;
  try {
    return new vms_accessor(p->p);
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

void vms_accessor_free(vms_accessor *a) { delete a; }

int vms_accessor_read(vms_accessor *a, uint64_t addr, void *out, uint64_t len, vms_fault *fault) {
  return fault_out(a->a.read(addr, out, len), fault);
}

int vms_accessor_write(vms_accessor *a, uint64_t addr, const void *in, uint64_t len,
                       vms_fault *fault) {
  return fault_out(a->a.write(addr, in, len), fault);
}

int vms_accessor_fetch(vms_accessor *a, uint64_t addr, void *out, uint64_t len, vms_fault *fault) {
  return fault_out(a->a.fetch(addr, out, len), fault);
}

int vms_accessor_cmpxchg64(vms_accessor *a, uint64_t addr, uint64_t *expected, uint64_t desired,
                           int *swapped, vms_fault *fault) {
  bool s = false;
  const int r = fault_out(a->a.compare_exchange<uint64_t>(addr, *expected, desired, &s), fault);
  if (swapped) *swapped = s;
  return r;
}

int vms_accessor_fetch_add64(vms_accessor *a, uint64_t addr, uint64_t value, uint64_t *old,
                             vms_fault *fault) {
  return fault_out(a->a.fetch_add<uint64_t>(addr, value, old), fault);
}

}  // extern "C"
