// A program that lowers vm.max_map_count through /proc/sys/vm and then splits a mapping until
// the kernel refuses (ENOMEM), then puts the value back. A recording must carry the write as
// @sysctl so that the replay refuses at the same split. Needs root and a writable /proc/sys.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int set(const char *v) {
  int fd = open("/proc/sys/vm/max_map_count", O_WRONLY);
  if (fd < 0) return -errno;
  int r = write(fd, v, strlen(v)) < 0 ? -errno : 0;
  close(fd);
  return r;
}

int main(void) {
  char old[32] = {0};
  int fd = open("/proc/sys/vm/max_map_count", O_RDONLY);
  if (fd < 0 || read(fd, old, sizeof old - 1) <= 0) return 2;
  close(fd);
  if (set("200") != 0) {
    printf("cannot write vm.max_map_count\n");
    return 0;
  }
  char *a = mmap(NULL, 400 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int i = 0, err = 0;
  for (; i < 200; i++)
    if (mprotect(a + 2 * i * 4096, 4096, PROT_READ) != 0) {
      err = errno;
      break;
    }
  set(old);
  printf("split %d times, then errno %d\n", i, err);
  return 0;
}
