#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
static char buf[1 << 16];
static long results[16];
int main(void) {
  // Read the layout first, then make the calls, then print everything (printing allocates).
  int m = open("/proc/self/maps", O_RDONLY);
  long n = read(m, buf, sizeof buf - 1);
  buf[n] = 0;
  close(m);
  results[0] =
      syscall(SYS_mmap, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  results[1] =
      syscall(SYS_mmap, 0, 2097152, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  results[2] = syscall(SYS_mmap, 0x555555560000UL, 4096, PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (results[2] == -1) results[2] = -errno;
  results[3] = syscall(SYS_mprotect, 0x7ffff7fa2000UL, 4096, PROT_READ | PROT_WRITE);
  results[4] = syscall(SYS_mprotect, 0x7ffff7fa2000UL, 4096, PROT_READ);
  results[5] =
      syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  results[6] = syscall(SYS_mmap, 0x7ffff7fb5000UL, 8192, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  m = open("/proc/self/maps", O_RDONLY);
  static char after[1 << 16];
  long k = read(m, after, sizeof after - 1);
  after[k] = 0;
  close(m);
  fputs(buf, stdout);
  printf("=====\n");
  for (int i = 0; i < 7; i++) printf("%ld\n", results[i]);
  printf("=====\n");
  fputs(after, stdout);
  return 0;
}
