/* vmspace-oracle: runs system calls sent over pipes on the real kernel, for the differential
 * tests.
 *
 * Built static and without libc, so that its address space holds only its own ELF segments,
 * the kernel's [vvar], [vvar_vclock], [vdso] and [stack], and what the calls create: nothing
 * here allocates memory or changes the layout behind the harness's back.
 *
 * Several processes: the harness passes SLOTS pipe pairs (fd 100+2k for commands, 101+2k for
 * results). The first process serves slot 0; a child made with OP_FORK serves the slot it is
 * given and first writes its pid to that slot's result pipe. SIGCHLD is ignored, so exited
 * children are reaped by the kernel.
 *
 * Protocol: the harness writes `struct cmd`, the process answers with one `long`.
 *   OP_SYSCALL  run syscall nr(args); when str_arg >= 0, args[str_arg] points at cmd.str
 *   OP_TOUCH    write (or read) one byte in each page of [args[0], args[0]+args[1])
 *   OP_FILL     map args[1] pages at args[0], every other page read-only: ~args[1] VMAs
 *   OP_FORK     args[0] = the child's slot, args[1] = 0 fork, 1 vfork (the parent answers
 *               with the child's pid once the child has exited)
 *   OP_EXIT     exit_group
 *   OP_PEEK     load args[1] (<= 4096) bytes from args[0], one at a time; the answer is
 *               followed by the bytes
 *   OP_POKE     store the args[1] bytes of cmd.str at args[0], one at a time
 *   OP_MEMSET   store the byte args[2] at args[1] bytes from args[0]
 *   OP_SYSCALL_OUT  as OP_SYSCALL, and when the call succeeded the answer is followed by
 *               what it left in cmd.str: out_len bytes, or with out_len < 0 as many as it
 *               returned (read), at most 4096
 * A load or store that faults answers FAULT_ANSWER - signo, followed by two longs (si_code,
 * si_addr), and the process exits: a fault kills it as it would a program without a handler.
 * OP_TOUCH loads one byte of each page and, for a write, stores it back unchanged.
 */
#define SLOTS 4
/* The .bss stays 276 KiB, as the examples that start from the oracle's layout expect. */
#define STACK_SIZE 43696

enum {
  OP_SYSCALL = 1,
  OP_TOUCH = 2,
  OP_FILL = 3,
  OP_EXIT = 4,
  OP_FORK = 5,
  OP_PEEK = 6,
  OP_POKE = 7,
  OP_MEMSET = 8,
  OP_SYSCALL_OUT = 9
};
#define FAULT_ANSWER (-100000L)

struct cmd {
  long op;
  long nr;
  long args[6];
  long str_arg;
  long out_len;
  char str[4096];
};

static struct cmd cmds[SLOTS];
static long results[SLOTS];
static long fault_report[SLOTS][3];
static volatile long current_slot;
/* Stacks for vfork children. A process runs on one of them when it is a vfork child, or a fork
 * child of one: stack_busy (copied by fork, shared by vfork) marks those in use in this
 * address space, so that a vfork never starts its child on a stack a live frame is on. */
#define STACKS (SLOTS + 2)
static char stacks[STACKS][STACK_SIZE] __attribute__((aligned(16)));
static volatile char stack_busy[STACKS];

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

static int read_full(int fd, void *buf, long len) {
  char *p = buf;
  while (len > 0) {
    long n = sys6(0 /* read */, fd, (long)p, len, 0, 0, 0);
    if (n <= 0) return -1;
    p += n;
    len -= n;
  }
  return 0;
}

static void reply(int slot, long ret) {
  results[slot] = ret;
  sys6(1 /* write */, 101 + 2 * slot, (long)&results[slot], sizeof(long), 0, 0, 0);
}

void oracle_loop(long slot) __attribute__((noreturn));

/* struct siginfo: si_signo at 0, si_code at 8, si_addr at 16. */
static void on_fault(int sig, void *info, void *uctx) {
  (void)uctx;
  long slot = current_slot;
  fault_report[slot][0] = FAULT_ANSWER - sig;
  fault_report[slot][1] = *(int *)((char *)info + 8);
  fault_report[slot][2] = *(long *)((char *)info + 16);
  sys6(1 /* write */, 101 + 2 * slot, (long)fault_report[slot], sizeof fault_report[slot], 0, 0, 0);
  sys6(231 /* exit_group */, 0, 0, 0, 0, 0, 0);
}

/* The handler never returns, but the kernel wants a restorer with SA_RESTORER. */
__asm__(".globl oracle_restorer\noracle_restorer:\n  mov $15, %eax\n  syscall\n  hlt\n");
void oracle_restorer(void);

static void catch_faults(void) {
  /* struct kernel_sigaction: handler, flags, restorer, mask. */
  long act[4] = {(long)on_fault,
                 0x4 /* SA_SIGINFO */ | 0x04000000 /* SA_RESTORER */ | 0x40000000 /* SA_NODEFER */,
                 (long)oracle_restorer, 0};
  sys6(13 /* rt_sigaction */, 11 /* SIGSEGV */, (long)act, 0, 8, 0, 0);
  sys6(13 /* rt_sigaction */, 7 /* SIGBUS */, (long)act, 0, 8, 0, 0);
}

/* clone(CLONE_VM | CLONE_VFORK | SIGCHLD) on a stack of our own: the child
 * starts oracle_loop(child_slot) there; the parent returns when the child has
 * exited. */
static long vfork_on_stack(long child_slot) {
  long ret;
  int k = 0;
  while (k < STACKS - 1 && stack_busy[k]) k++;
  stack_busy[k] = 1;
  register long r10 __asm__("r10") = 0;
  register long r8 __asm__("r8") = 0;
  register long r9 __asm__("r9") = child_slot;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "mov %%r9, %%rdi\n\t"
      "call oracle_loop\n\t"
      "hlt\n"
      "1:\n\t"
      : "=a"(ret)
      : "a"(56 /* clone */), "D"(0x100 | 0x4000 | 17), "S"(stacks[k] + STACK_SIZE), "d"(0),
        "r"(r10), "r"(r8), "r"(r9)
      : "rcx", "r11", "memory");
  stack_busy[k] = 0; /* the child has exited */
  return ret;
}

/* Every page of the oracle is present from the start (its file pages read, its bss written),
 * so that its RSS and page tables do not change under the test: the vmspace side starts with
 * the same pages (the layout's Rss lines). */
extern char __executable_start[], __bss_start[], _end[];
static void settle(void) {
  unsigned long p = (unsigned long)__executable_start & ~4095ul;
  for (; p < (unsigned long)__bss_start; p += 4096) (void)*(volatile char *)p;
  for (p = (unsigned long)__bss_start & ~4095ul; p < (unsigned long)_end; p += 4096) {
    volatile char *q = (volatile char *)p;
    *q = *q;
  }
}

void oracle_loop(long slot) {
  if (slot == 0) {
    settle();
    long ign[4] = {1 /* SIG_IGN */, 0, 0, 0};
    sys6(13 /* rt_sigaction */, 17 /* SIGCHLD */, (long)ign, 0, 8, 0, 0);
    catch_faults();
  }
  if (slot) reply((int)slot, sys6(39 /* getpid */, 0, 0, 0, 0, 0, 0));
  for (;;) {
    struct cmd *c = &cmds[slot];
    if (read_full(100 + 2 * (int)slot, c, sizeof *c) != 0)
      sys6(231 /* exit_group */, 1, 0, 0, 0, 0, 0);
    current_slot = slot;
    switch (c->op) {
      case OP_SYSCALL:
        if (c->str_arg >= 0 && c->str_arg < 6) c->args[c->str_arg] = (long)c->str;
        reply((int)slot,
              sys6(c->nr, c->args[0], c->args[1], c->args[2], c->args[3], c->args[4], c->args[5]));
        break;
      case OP_SYSCALL_OUT: {
        if (c->str_arg >= 0 && c->str_arg < 6) c->args[c->str_arg] = (long)c->str;
        long r =
            sys6(c->nr, c->args[0], c->args[1], c->args[2], c->args[3], c->args[4], c->args[5]);
        long n = r < 0 ? 0 : c->out_len >= 0 ? c->out_len : r;
        if (n > 4096) n = 4096;
        results[slot] = r;
        sys6(1, 101 + 2 * slot, (long)&results[slot], sizeof(long), 0, 0, 0);
        if (n) sys6(1, 101 + 2 * slot, (long)c->str, n, 0, 0, 0);
        break;
      }
      case OP_TOUCH: {
        /* addr, then every page start below addr + len */
        unsigned long a = (unsigned long)c->args[0], end = a + (unsigned long)c->args[1];
        if (end < a) end = ~0ul;
        while (c->args[1] > 0) {
          volatile char *p = (volatile char *)a;
          char b = *p;
          if (c->args[2]) *p = b;
          unsigned long next = (a | 4095) + 1;
          if (next == 0 || next >= end) break;
          a = next;
        }
        reply((int)slot, 0);
        break;
      }
      case OP_PEEK: {
        volatile char *p = (volatile char *)c->args[0];
        long n = c->args[1] > 4096 ? 4096 : c->args[1];
        for (long i = 0; i < n; i++) c->str[i] = p[i];
        results[slot] = n;
        sys6(1, 101 + 2 * slot, (long)&results[slot], sizeof(long), 0, 0, 0);
        sys6(1, 101 + 2 * slot, (long)c->str, n, 0, 0, 0);
        break;
      }
      case OP_POKE: {
        volatile char *p = (volatile char *)c->args[0];
        long n = c->args[1] > 4096 ? 4096 : c->args[1];
        for (long i = 0; i < n; i++) p[i] = c->str[i];
        reply((int)slot, 0);
        break;
      }
      case OP_MEMSET: {
        volatile char *p = (volatile char *)c->args[0];
        for (long i = 0; i < c->args[1]; i++) p[i] = (char)c->args[2];
        reply((int)slot, 0);
        break;
      }
      case OP_FILL: {
        long base = c->args[0], n = c->args[1];
        long ret = sys6(9 /* mmap */, base, n * 4096, 3, 0x32 /* PRIVATE|ANON|FIXED */, -1, 0);
        for (long i = 1; ret == base && i < n; i += 2)
          if (sys6(10 /* mprotect */, base + i * 4096, 4096, 1, 0, 0, 0) != 0) ret = -1;
        reply((int)slot, ret);
        break;
      }
      case OP_FORK: {
        long child = c->args[0];
        if (c->args[1] == 1) {
          reply((int)slot, vfork_on_stack(child));
        } else {
          long pid = sys6(57 /* fork */, 0, 0, 0, 0, 0, 0);
          if (pid == 0) {
            /* The child's own text and rodata (fork does not copy them), all at once. */
            for (unsigned long p = (unsigned long)__executable_start & ~4095ul;
                 p < (unsigned long)__bss_start; p += 4096)
              (void)*(volatile char *)p;
            slot = child;
            reply((int)slot, sys6(39, 0, 0, 0, 0, 0, 0));
            continue;
          }
          reply((int)slot, pid);
        }
        break;
      }
      case OP_EXIT:
      default:
        sys6(231, 0, 0, 0, 0, 0, 0);
    }
  }
}

__asm__(
    ".globl _start\n"
    "_start:\n"
    "  and $-16, %rsp\n"
    "  xor %edi, %edi\n"
    "  call oracle_loop\n"
    "  hlt\n");
