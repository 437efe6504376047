// Which file pages a fault reads into the page cache (observed on 6.18.44 with the root
// disk's read_ahead_kb 8192; docs/linux-facts.md "Read-around"). A 64 MiB file, sparse
// past its first page; each case faults one page of a mapping of [first, first+n) and
// prints the runs of cached pages (mincore of a PROT_NONE view). Run in a directory on the
// disk to measure: ./readahead; cat /sys/class/bdi/MAJ:MIN/read_ahead_kb.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define PG 4096UL
#define NP 0x4000UL
static unsigned char v[NP];
static void runs(int fd, const char *what) {
  char *w = mmap(0, NP * PG, PROT_NONE, MAP_SHARED, fd, 0);
  mincore(w, NP * PG, v);
  printf("%-22s", what);
  long run = -1;
  for (unsigned long i = 0; i <= NP; i++) {
    int c = i < NP && (v[i] & 1);
    if (c && run < 0) run = i;
    if (!c && run >= 0) printf(" %lx-%lx", run, i - 1), run = -1;
  }
  printf("\n");
  munmap(w, NP * PG);
}
static int fresh(void) {
  unlink("ra_probe");
  int fd = open("ra_probe", O_RDWR | O_CREAT, 0600);
  char b[PG];
  memset(b, 'x', PG);
  pwrite(fd, b, PG, 0);
  ftruncate(fd, NP * PG);
  return fd;
}
// Maps pages [first, first+n) with prot and advice (-1: none), touches page at, reports.
static void one(const char *what, long first, long n, int prot, int advice, long at, int store) {
  int fd = fresh();
  char *a = mmap(0, n * PG, prot, MAP_PRIVATE, fd, first * PG);
  if (advice >= 0) madvise(a, n * PG, advice);
  if (store) a[(at - first) * PG] = 1;
  else (void)*(volatile char *)&a[(at - first) * PG];
  runs(fd, what);
  close(fd);
}
int main(void) {
  one("load", 0x1200, 0x100, PROT_READ, -1, 0x1234, 0);                      // e34-1633
  one("load near the start", 0, NP, PROT_READ, -1, 0x35, 0);                 // 0-7ff
  one("load near the end", 0, NP, PROT_READ, -1, 0x3fff, 0);                 // 3bff-3fff
  one("exec, small vma", 0x1200, 0x100, PROT_READ | PROT_EXEC, -1, 0x1234, 0);  // 1234-12ff
  one("exec, large vma", 0x2000, 0x1000, PROT_READ | PROT_EXEC, -1, 0x2034, 0);  // 2034-2833
  one("MADV_RANDOM", 0x1200, 0x100, PROT_READ, MADV_RANDOM, 0x1234, 0);       // 1234
  one("MADV_SEQUENTIAL", 0x2200, 0x100, PROT_READ, MADV_SEQUENTIAL, 0x2234, 0);  // 2234-2a33
  one("MADV_HUGEPAGE", 0x3200, 0x100, PROT_READ, MADV_HUGEPAGE, 0x3234, 0);   // 3200-35ff
  one("store, private", 0x1200, 0x100, PROT_READ | PROT_WRITE, -1, 0x1234, 1);  // e34-1633
  unlink("ra_probe");
  return 0;
}
