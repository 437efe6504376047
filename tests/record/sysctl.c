// A program that writes vm.max_map_count through /proc/sys/vm: a recording carries the write
// as @sysctl at that point. It writes back the value the machine has (tests run side by side:
// a lower limit would make the others' mmap calls fail), then splits a mapping a few times.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  char value[32] = {0};
  int fd = open("/proc/sys/vm/max_map_count", O_RDONLY);
  if (fd < 0 || read(fd, value, sizeof value - 1) <= 0) return 2;
  close(fd);
  fd = open("/proc/sys/vm/max_map_count", O_WRONLY);
  int w = fd >= 0 && write(fd, value, strlen(value)) > 0;
  if (fd >= 0) close(fd);
  char *a = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int i = 0;
  while (i < 8 && mprotect(a + 2 * i * 4096, 4096, PROT_READ) == 0) i++;
  printf("wrote vm.max_map_count: %s; %d splits\n", w ? "yes" : "no", i);
  return 0;
}
