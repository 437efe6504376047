/* vmspace — the C API: guest address spaces with Linux's exact semantics, for emulators and
 * tools written in C.
 *
 * Synopsis
 *   vms_system *vms_system_new(const vms_config *cfg)   a kernel (NULL cfg: the defaults)
 *   void vms_system_free(vms_system *)                  ends it and every process in it
 *   vms_process *vms_spawn(vms_system *)                a new process (pid 1, 2, ...)
 *   vms_process *vms_process_get(vms_system *, int pid) a process by pid (NULL: none)
 *   void vms_process_free(vms_process *)                drops the handle (not the process)
 *   int64_t vms_X(vms_process *, ...)                   system call X with the kernel's
 *                                                       arguments in the kernel's order:
 *                                                       the result, or -errno
 *   int64_t vms_maps(vms_process *, char *buf, size_t size)
 *                                                       /proc/PID/maps with snprintf's
 *                                                       convention (the full length back)
 *   vms_set_layout_callback(...)                        told after every layout change
 *
 * Example
 *   vms_system *sys = vms_system_new(NULL);
 *   vms_process *p = vms_spawn(sys);
 *   int64_t a = vms_mmap(p, 0, 4096, 1, 0x22, -1, 0);   // PROT_READ, MAP_PRIVATE|ANONYMOUS
 *   if (a < 0) printf("mmap: errno %d\n", (int)-a);
 *   char maps[4096];
 *   vms_maps(p, maps, sizeof maps);
 *   vms_process_free(p);
 *   vms_system_free(sys);
 *
 * Every function may be called from any thread (see README, "Thread safety"). A call on a
 * process that has exited returns -ESRCH. No C++ exception ever crosses this interface.
 *
 * ABI stability: within one SONAME (libvmspace.so.MAJOR.MINOR) functions are only added,
 * never changed or removed; vms_config only grows at its end, and callers state its size
 * (vms_config_init fills in the defaults and the size), so an older caller's shorter
 * vms_config keeps working.
 */
#ifndef VMSPACE_VMSPACE_H
#define VMSPACE_VMSPACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vms_system vms_system;
typedef struct vms_process vms_process;

/* What a System is made with; vms_config_init gives Linux 6.18's defaults. */
typedef struct vms_config {
  size_t size;              /* sizeof(vms_config) as the caller knows it */
  uint64_t page_size;       /* 4096 */
  uint64_t max_map_count;   /* vm.max_map_count: 65530 */
  uint64_t mmap_min_addr;   /* vm.mmap_min_addr: 4096 */
  int overcommit_memory;    /* vm.overcommit_memory: 0 */
  uint64_t total_ram_bytes; /* 0: the host's */
  uint64_t max_memory;      /* host memory the model may hold; 0: a quarter of the host's RAM */
  const char *root_dir;     /* the sandbox directory ("." when NULL) */
  int allow_host_read;      /* host files outside the sandbox open read-only: 1 */
} vms_config;

void vms_config_init(vms_config *cfg);

vms_system *vms_system_new(const vms_config *cfg);
void vms_system_free(vms_system *sys);
/* Writes a vm sysctl ("vm.max_map_count", ...): 0 or -errno. */
int64_t vms_set_sysctl(vms_system *sys, const char *name, uint64_t value);
/* Called with each process the OOM killer ends when guest memory (ram_limit) runs out in a
 * fault (the one with the most resident memory; see System::set_oom_listener). NULL: none. */
void vms_set_oom_callback(vms_system *sys, void (*cb)(void *arg, int pid), void *arg);

vms_process *vms_spawn(vms_system *sys);
vms_process *vms_process_get(vms_system *sys, int pid);
void vms_process_free(vms_process *p);
int vms_pid(const vms_process *p);
/* 1 while the process runs, 0 once it has exited. */
int vms_alive(const vms_process *p);

/* ---- memory ---- */
int64_t vms_mmap(vms_process *p, uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags,
                 int64_t fd, uint64_t offset);
int64_t vms_munmap(vms_process *p, uint64_t addr, uint64_t len);
int64_t vms_mprotect(vms_process *p, uint64_t addr, uint64_t len, uint64_t prot);
/* The new break, or the old one when the request fails (as the system call). */
int64_t vms_brk(vms_process *p, uint64_t addr);
int64_t vms_mremap(vms_process *p, uint64_t addr, uint64_t old_len, uint64_t new_len,
                   uint64_t flags, uint64_t new_addr);
int64_t vms_madvise(vms_process *p, uint64_t addr, uint64_t len, int64_t advice);
int64_t vms_mlock(vms_process *p, uint64_t addr, uint64_t len);
int64_t vms_mlock2(vms_process *p, uint64_t addr, uint64_t len, uint64_t flags);
int64_t vms_munlock(vms_process *p, uint64_t addr, uint64_t len);
int64_t vms_mlockall(vms_process *p, uint64_t flags);
int64_t vms_munlockall(vms_process *p);
int64_t vms_msync(vms_process *p, uint64_t addr, uint64_t len, uint64_t flags);
/* vec is a guest address (the vector is written into guest memory). */
int64_t vms_mincore(vms_process *p, uint64_t addr, uint64_t len, uint64_t vec);
int64_t vms_mseal(vms_process *p, uint64_t addr, uint64_t len, uint64_t flags);

/* ---- files ---- */
int64_t vms_open(vms_process *p, const char *path, uint64_t flags, uint64_t mode);
int64_t vms_openat(vms_process *p, int64_t dirfd, const char *path, uint64_t flags, uint64_t mode);
int64_t vms_close(vms_process *p, uint64_t fd);
int64_t vms_dup(vms_process *p, uint64_t fd);
int64_t vms_dup2(vms_process *p, uint64_t oldfd, uint64_t newfd);
int64_t vms_dup3(vms_process *p, uint64_t oldfd, uint64_t newfd, uint64_t flags);
int64_t vms_ftruncate(vms_process *p, uint64_t fd, uint64_t length);
int64_t vms_fsync(vms_process *p, uint64_t fd);
int64_t vms_fdatasync(vms_process *p, uint64_t fd);
/* read, write, pread64, pwrite64 with a guest buffer; lseek. */
int64_t vms_read(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count);
int64_t vms_write(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count);
int64_t vms_pread64(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset);
int64_t vms_pwrite64(vms_process *p, uint64_t fd, uint64_t buf, uint64_t count, uint64_t offset);
int64_t vms_lseek(vms_process *p, uint64_t fd, uint64_t offset, uint64_t whence);
int64_t vms_fcntl(vms_process *p, uint64_t fd, uint64_t cmd, uint64_t arg);
int64_t vms_memfd_create(vms_process *p, const char *name, uint64_t flags);
int64_t vms_unlinkat(vms_process *p, int64_t dirfd, const char *path, uint64_t flags);
int64_t vms_renameat2(vms_process *p, int64_t olddirfd, const char *oldpath, int64_t newdirfd,
                      const char *newpath, uint64_t flags);

/* ---- processes ---- */
/* The child's pid, or -errno. */
int64_t vms_fork(vms_process *p);
int64_t vms_vfork(vms_process *p);
int64_t vms_clone(vms_process *p, uint64_t flags);
/* argv and envp end with NULL (either may be NULL: empty). */
int64_t vms_execve(vms_process *p, const char *path, const char *const *argv,
                   const char *const *envp);
void vms_exit_group(vms_process *p, int status);

/* ---- state ---- */
/* /proc/PID/maps: writes at most size bytes (NUL included) and returns the full length, as
 * snprintf does; -ESRCH for a process that has exited. */
int64_t vms_maps(vms_process *p, char *buf, size_t size);
/* The memory lines of /proc/PID/status, likewise. */
int64_t vms_status(vms_process *p, char *buf, size_t size);
/* The /proc/PID/smaps entry of the VMA holding addr ("" when none does), likewise. */
int64_t vms_smaps(vms_process *p, uint64_t addr, char *buf, size_t size);
/* /proc/PID/smaps_rollup, likewise. */
int64_t vms_smaps_rollup(vms_process *p, char *buf, size_t size);

/* ---- layout changes ---- */
/* What a layout change did to [start, end) (for an emulator's TLB and translation caches). */
enum vms_change_kind {
  VMS_MAPPED = 1,    /* new memory (mmap, brk, stack growth, exec) */
  VMS_UNMAPPED = 2,  /* gone (munmap, MAP_FIXED over it, exit) */
  VMS_PROTECTED = 3, /* protection changed (mprotect): prot is the new one */
  VMS_MOVED = 4      /* mremap moved [start, end) to [to, to + (end - start)) */
};
typedef struct vms_layout_change {
  int kind; /* enum vms_change_kind */
  uint64_t start, end;
  uint64_t prot; /* PROT_* bits now (MAPPED, PROTECTED, MOVED) */
  uint64_t to;   /* MOVED: the new start */
} vms_layout_change;
typedef void (*vms_layout_callback)(void *arg, int pid, const vms_layout_change *change);
/* Registers cb for the address space of p (its threads share it): called after each change,
 * on the thread that made it, while that thread still holds the address space's lock (the
 * callback must not call back into vmspace for it). NULL unregisters. */
int64_t vms_set_layout_callback(vms_process *p, vms_layout_callback cb, void *arg);

/* ---- guest memory (vmspace/accessor.hpp) ---- */
/* A fault a guest access raised: signal 0 when there was none. */
typedef struct vms_fault {
  int signal; /* SIGSEGV 11, SIGBUS 7, SIGKILL 9 (guest memory exhausted, process gone) */
  int code;   /* SEGV_MAPERR 1, SEGV_ACCERR 2, BUS_ADRERR 2, SI_KERNEL 128 */
  uint64_t addr;
} vms_fault;
/* One per guest thread: loads and stores through a software TLB (see accessor.hpp). */
typedef struct vms_accessor vms_accessor;
vms_accessor *vms_accessor_new(vms_process *p); /* NULL when p is NULL or out of memory */
void vms_accessor_free(vms_accessor *a);
/* Each returns 0, or the fault's signal with *fault filled in (fault may be NULL). */
int vms_accessor_read(vms_accessor *a, uint64_t addr, void *out, uint64_t len, vms_fault *fault);
int vms_accessor_write(vms_accessor *a, uint64_t addr, const void *in, uint64_t len,
                       vms_fault *fault);
int vms_accessor_fetch(vms_accessor *a, uint64_t addr, void *out, uint64_t len, vms_fault *fault);
/* 64-bit compare-exchange: *expected gets the old value; *swapped says whether it stored. */
int vms_accessor_cmpxchg64(vms_accessor *a, uint64_t addr, uint64_t *expected, uint64_t desired,
                           int *swapped, vms_fault *fault);
int vms_accessor_fetch_add64(vms_accessor *a, uint64_t addr, uint64_t value, uint64_t *old,
                             vms_fault *fault);

#ifdef __cplusplus
}
#endif

#endif /* VMSPACE_VMSPACE_H */
