/* The Chinese mmap page's example: map /etc/passwd privately and print it. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  int fd = open("/etc/passwd", O_RDONLY);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) return 1;
  char *start = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (start == MAP_FAILED) return 1;
  fwrite(start, 1, (size_t)sb.st_size, stdout);
  munmap(start, (size_t)sb.st_size);
  close(fd);
  return 0;
}
