// Calls that change what paths mean: a mount namespace of its own, a tmpfs mounted in it, a
// file there mapped, the mount gone, a chroot. vmspace models none of them; a recording must
// mark each that succeeded as unsupported. Prints which succeeded.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "mnt";
  mkdir(dir, 0755);
  int u = unshare(CLONE_NEWNS);
  int p = u == 0 ? mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) : -1;
  int m = u == 0 ? mount("none", dir, "tmpfs", 0, "size=1m") : -1;
  if (m == 0) {
    char path[4096];
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd >= 0 && ftruncate(fd, 8192) == 0) {
      char *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (a != MAP_FAILED) {
        strcpy(a, "tmpfs");
        munmap(a, 8192);
      }
      close(fd);
    }
  }
  int um = m == 0 ? umount2(dir, 0) : -1;
  int c = chroot("/");
  printf("unshare=%d mount=%d,%d umount2=%d chroot=%d\n", u, p, m, um, c);
  return 0;
}
