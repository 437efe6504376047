/* vmspace from C: cc embed.c $(pkg-config --cflags --libs vmspace). Exits 0 when every
 * answer is Linux's. */
#include <stdio.h>
#include <string.h>
#include <vmspace/vmspace.h>

static int changes;

static void on_change(void *arg, int pid, const vms_layout_change *c) {
  (void)arg;
  (void)pid;
  if (c->kind == VMS_MAPPED || c->kind == VMS_PROTECTED) changes++;
}

int main(void) {
  vms_system *sys = vms_system_new(NULL);
  vms_process *p = vms_spawn(sys);
  int64_t a;
  char maps[4096], rollup[2048];
  int ok = 1;
  vms_set_layout_callback(p, on_change, NULL);
  a = vms_mmap(p, 0, 8192, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|ANONYMOUS */, -1, 0);
  ok = ok && a == 0x7ffff7ff5000;
  ok = ok && vms_mprotect(p, (uint64_t)a, 4096, 1) == 0;
  ok = ok && vms_munmap(p, 1, 4096) == -22; /* EINVAL */
  ok = ok && vms_maps(p, maps, sizeof maps) > 0;
  ok = ok && changes == 2;
  ok = ok && vms_smaps_rollup(p, rollup, sizeof rollup) > 0 && strstr(rollup, "[rollup]\nRss:");
  fputs(maps, stdout);
  vms_process_free(p);
  vms_system_free(sys);
  return ok ? 0 : 1;
}
