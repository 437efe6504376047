// Fault-around for a load past EOF (observed on 6.18.44, docs/linux-facts.md "Fault-around
// past EOF"): the load raises SIGBUS, but do_read_fault has mapped the window's cached pages
// first. Where the 2 MiB range had no page table, they are mapped only when they are at least
// two folios. Usage: ./eof_around SIZE PAGE HOW [OFFSET] with PT=1 in the environment to
// give the range a page table first; HOW 0 writes the file in one write() (one folio per
// power-of-two piece), 1 page by page (4 KiB folios). Prints Rss of the 4-page mapping.
//   ./eof_around 16 3 0 -> 0, PT=1 -> 4;   ./eof_around 5000 3 0 -> 8;
//   ./eof_around 8192 3 0 -> 0 (one 8 KiB folio), PT=1 -> 8;  ./eof_around 8192 3 1 -> 8;
//   ./eof_around 8192 2 1 4096 -> 0 (one folio in the window);  12288 2 1 4096 -> 8.
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static sigjmp_buf jb;
static void on_bus(int s) { (void)s; siglongjmp(jb, 1); }
static int rss(void *a) {
  char l[256];
  FILE *f = fopen("/proc/self/smaps", "r");
  int on = 0, k = -1;
  while (fgets(l, sizeof l, f)) {
    unsigned long s, e;
    if (sscanf(l, "%lx-%lx ", &s, &e) == 2) on = s == (unsigned long)a;
    else if (on && !strncmp(l, "Rss:", 4)) { sscanf(l + 4, "%d", &k); break; }
  }
  fclose(f);
  return k;
}
int main(int argc, char **argv) {
  if (argc < 4) return 2;
  long size = atol(argv[1]), page = atol(argv[2]), off = argc > 4 ? atol(argv[4]) : 0;
  int how = atoi(argv[3]);
  int fd = open("eof_probe", O_RDWR | O_CREAT | O_TRUNC, 0600);
  char *b = malloc(size);
  memset(b, 'q', size);
  if (how == 0) write(fd, b, size);
  else for (long o = 0; o < size; o += 4096) pwrite(fd, b + o, size - o < 4096 ? size - o : 4096, o);
  signal(SIGBUS, on_bus);
  if (getenv("PT")) *(volatile char *)mmap((void *)0x7e0000f00000, 4096, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) = 1;
  char *p = mmap((void *)0x7e0000ff0000, 16384, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, off);
  int bus = 0;
  if (!sigsetjmp(jb, 1)) (void)*(volatile char *)(p + page * 4096);
  else bus = 1;
  printf("size %ld load page %ld: %s, Rss %d kB\n", size, page, bus ? "SIGBUS" : "ok", rss(p));
  unlink("eof_probe");
  return 0;
}
