// Path arguments that point to memory the program cannot read: every call fails with EFAULT,
// and a recording must replay each as the call with that address (not mark it unsupported).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  long r[6];
  r[0] = syscall(SYS_open, (char *)0x1000, O_RDONLY);
  r[1] = syscall(SYS_openat, AT_FDCWD, none, O_RDONLY);
  r[2] = syscall(SYS_unlink, (char *)0xffffffffffff0000ull);
  r[3] = syscall(SYS_rename, "/nonexistent-vmspace", none);
  r[4] = syscall(SYS_mkdir, none, 0700);  // not a call vmspace records: left out
  r[5] = syscall(SYS_memfd_create, none, 0);
  for (int i = 0; i < 6; i++) printf("%ld%s", r[i] < 0 ? -errno : r[i], i < 5 ? " " : "\n");
  return 0;
}
