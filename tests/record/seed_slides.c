/* The lecture slides' mmap-beispiel.c: map a small text file shared and writable, print it and
   overwrite its beginning through the mapping. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  const char *name = "testdatei.txt";
  struct stat st;
  if (stat(name, &st) != 0) return 1;
  printf("Laenge der Datei: %ld\n", (long)st.st_size);
  int fd = open(name, O_RDWR);
  if (fd < 0) return 1;
  char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 1;
  fwrite(p, 1, (size_t)st.st_size, stdout);
  memcpy(p, " Ein kleiner Versuch --- \n", 26);
  close(fd);
  return 0;
}
