/* The mmap(2) man page example: write bytes [offset, offset+length) of a file to standard
   output, mapping from the page-aligned offset below. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s FILE OFFSET [LENGTH]\n", argv[0]);
    return 1;
  }
  int fd = open(argv[1], O_RDONLY);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) return 1;
  off_t offset = atoi(argv[2]);
  off_t pa_offset = offset & ~(sysconf(_SC_PAGE_SIZE) - 1);
  if (offset >= sb.st_size) return 1;
  size_t length = argc == 4 ? (size_t)atoi(argv[3]) : (size_t)(sb.st_size - offset);
  if (offset + (off_t)length > sb.st_size) length = (size_t)(sb.st_size - offset);
  char *addr =
      mmap(NULL, length + (size_t)(offset - pa_offset), PROT_READ, MAP_PRIVATE, fd, pa_offset);
  if (addr == MAP_FAILED) return 1;
  if (write(STDOUT_FILENO, addr + offset - pa_offset, length) != (ssize_t)length) return 1;
  munmap(addr, length + (size_t)(offset - pa_offset));
  close(fd);
  return 0;
}
