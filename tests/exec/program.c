/* A small program for the exec check, linked in several ways (static, static PIE, non-PIE,
   executable stack, large bss, 2 MiB segment alignment); only its layout after execve
   matters. */
#include <stdio.h>

#ifndef BSS_SIZE
#define BSS_SIZE 64
#endif

int initialised[3] = {1, 2, 3};
static char zeroed[BSS_SIZE];

int main(int argc, char **argv) {
  zeroed[argc % BSS_SIZE] = 1;
  printf("%s %d %d\n", argv[0], initialised[argc % 3], zeroed[0]);
  return 0;
}
