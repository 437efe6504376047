// Credentials changed mid-run decide memory calls: with RLIMIT_MEMLOCK 0, root locks memory
// (CAP_IPC_LOCK) and an ordinary user gets EPERM; a child's limit set by its parent with
// prlimit64 holds in the child. A recording must replay every result the same.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  char *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  a[0] = 1;
  struct rlimit zero = {0, 65536};
  setrlimit(RLIMIT_MEMLOCK, &zero);
  int r1 = mlock(a, 4096) == 0 ? 0 : -errno;  // root: CAP_IPC_LOCK
  munlock(a, 4096);
  int pfd[2];
  if (pipe(pfd) != 0) return 1;
  pid_t c = fork();
  if (c == 0) {
    char go;
    close(pfd[1]);
    if (read(pfd[0], &go, 1) != 1) _exit(3);
    // An ordinary user now: no CAP_IPC_LOCK, RLIMIT_MEMLOCK as the parent set it.
    if (setresuid(65534, 65534, 65534) != 0) _exit(2);
    int r = mlock(a, 4096) == 0 ? 0 : -errno;
    int r2 = mlock(a, 4096 * 2) == 0 ? 0 : -errno;
    printf("child: mlock %d %d\n", r, r2);
    fflush(stdout);
    _exit(0);
  }
  struct rlimit one = {4096, 65536};
  int p = prlimit(c, RLIMIT_MEMLOCK, &one, NULL) == 0 ? 0 : -errno;  // the child may lock a page
  close(pfd[0]);
  if (write(pfd[1], "g", 1) != 1) return 1;
  int st;
  waitpid(c, &st, 0);
  printf("parent: mlock %d, prlimit %d\n", r1, p);
  return 0;
}
