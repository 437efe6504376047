/* vmspace-oracle: runs system calls sent over a pipe on the real kernel, for the
 * differential tests.
 *
 * Built static and without libc, so that its address space holds only its own ELF segments,
 * the kernel's [vvar], [vvar_vclock], [vdso] and [stack], and what the calls create: nothing
 * here allocates memory or changes the layout behind the harness's back.
 *
 * Protocol: the harness writes `struct cmd` to fd 100 and reads `struct res` from fd 101.
 *   OP_SYSCALL  run syscall nr(args); when str_arg >= 0, args[str_arg] points at cmd.str
 *   OP_TOUCH    write (or read) one byte in each page of [args[0], args[0]+args[1])
 *   OP_FILL     map args[1] pages at args[0], every other page read-only: ~args[1] VMAs
 *   OP_EXIT     exit
 */
#define CMD_FD 100
#define RES_FD 101

enum { OP_SYSCALL = 1, OP_TOUCH = 2, OP_FILL = 3, OP_EXIT = 4 };

struct cmd {
  long op;
  long nr;
  long args[6];
  long str_arg;
  char str[4096];
};

struct res {
  long ret;
};

static struct cmd c;
static struct res r;

static long sys6(long n, long a, long b, long cc, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(cc), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static int read_full(void *buf, long len) {
  char *p = buf;
  while (len > 0) {
    long n = sys6(0 /* read */, CMD_FD, (long)p, len, 0, 0, 0);
    if (n <= 0) return -1;
    p += n;
    len -= n;
  }
  return 0;
}

static void reply(long ret) {
  r.ret = ret;
  sys6(1 /* write */, RES_FD, (long)&r, sizeof r, 0, 0, 0);
}

void oracle_main(void) {
  for (;;) {
    if (read_full(&c, sizeof c) != 0) sys6(231 /* exit_group */, 1, 0, 0, 0, 0, 0);
    switch (c.op) {
      case OP_SYSCALL:
        if (c.str_arg >= 0 && c.str_arg < 6) c.args[c.str_arg] = (long)c.str;
        reply(sys6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]));
        break;
      case OP_TOUCH: {
        volatile char *p = (volatile char *)c.args[0];
        long pages = c.args[1] / 4096;
        for (long i = 0; i < pages; i++) {
          if (c.args[2])
            p[i * 4096] = 1;
          else
            (void)p[i * 4096];
        }
        reply(0);
        break;
      }
      case OP_FILL: {
        long base = c.args[0], n = c.args[1];
        long ret = sys6(9 /* mmap */, base, n * 4096, 3, 0x32 /* PRIVATE|ANON|FIXED */, -1, 0);
        for (long i = 1; ret == base && i < n; i += 2)
          if (sys6(10 /* mprotect */, base + i * 4096, 4096, 1, 0, 0, 0) != 0) ret = -1;
        reply(ret);
        break;
      }
      case OP_EXIT:
      default:
        sys6(231, 0, 0, 0, 0, 0, 0);
    }
  }
}

__asm__(".globl _start\n"
        "_start:\n"
        "  and $-16, %rsp\n"
        "  call oracle_main\n"
        "  hlt\n");
