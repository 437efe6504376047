/* Faults a recorded trace must reproduce: a write to read-only memory (SIGSEGV SEGV_ACCERR),
   a read of unmapped memory (SIGSEGV SEGV_MAPERR), a read past the end of a mapped file
   (SIGBUS BUS_ADRERR), and instruction fetches from memory without PROT_EXEC (SEGV_ACCERR)
   and from an unmapped page (SEGV_MAPERR), each caught and survived. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;

static void on_fault(int sig) { siglongjmp(env, sig); }

static int try_access(volatile char *p, int write) {
  int sig = sigsetjmp(env, 1);
  if (sig) return sig;
  if (write)
    *p = 1;
  else
    (void)*p;
  return 0;
}

static int try_call(void *code) {
  int sig = sigsetjmp(env, 1);
  if (sig) return sig;
  ((void (*)(void))code)();
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  signal(SIGSEGV, on_fault);
  signal(SIGBUS, on_fault);
  char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 100) != 0) return 1;
  char *file = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
  char *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(gone, 4096);
  int a = try_access(ro, 1), b = try_access(gone + 8, 0), c = try_access(file + 4096 + 5, 0);
  char *data = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  data[0] = (char)0xc3; /* ret: harmless if it ever ran */
  int d = try_call(data), e = try_call((char *)16);
  printf("%d %d %d %d %d\n", a, b, c, d, e);
  return a == SIGSEGV && b == SIGSEGV && c == SIGBUS && d == SIGSEGV && e == SIGSEGV ? 0 : 1;
}
