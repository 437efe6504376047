// Faults on addresses near and past the ends of the canonical ranges: the kernel raises
// SIGSEGV SI_KERNEL (si_addr 0) for a non-canonical address, also for an access that starts
// below 2^47 and reaches past it, and SEGV_MAPERR with the address for the kernel half.
// A recording must replay each the same (the address comes from the faulting instruction).
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

static sigjmp_buf jb;
static void on_fault(int s, siginfo_t *si, void *c) {
  (void)c;
  printf("sig=%d code=%d addr=%p\n", s, si->si_code, si->si_addr);
  siglongjmp(jb, 1);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  static const uintptr_t a[] = {0xffffffffffffffffull, 0x8000000000000000ull,
                                0xfffffffffffff000ull, 0x0000800000000000ull,
                                0xffff800000000000ull, 0xffff7fffffffffffull};
  for (int i = 0; i < 6; i++)
    if (!sigsetjmp(jb, 1)) (void)*(volatile char *)a[i];
  for (int i = 0; i < 2; i++)
    if (!sigsetjmp(jb, 1)) *(volatile char *)a[i] = 1;
  if (!sigsetjmp(jb, 1)) (void)*(volatile uint64_t *)0xfffffffffffffffcull;
  if (!sigsetjmp(jb, 1)) (void)*(volatile uint64_t *)0x7ffffffffffcull;
  volatile uint64_t base = 0x7ffffff00000ull;  // a register operand with a displacement
  if (!sigsetjmp(jb, 1)) (void)*(volatile uint64_t *)(base + 0x7ffff000000000ull);
  return 0;
}
