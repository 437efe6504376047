// The initial layout of a process (Linux: fs/exec.c setup_arg_pages, arch/x86/entry/vdso/vma.c
// map_vdso, lib/vdso/datastore.c): [vvar] (4 pages), [vvar_vclock] (2), [vdso] (2) placed
// top-down below mmap_base, and the [stack] at the top of user space.
#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

void AddressSpace::install_kernel_mappings() {
  install_vdso();
  // The stack: 128 KiB plus the page holding arguments and environment.
  install_stack(task_size - 0x21000 / 4096 * page_size, 0);
  start_stack = task_size - page_size;
  // Without an ELF binary below it, the heap starts where Linux puts the heap
  // of a static PIE program: ELF_ET_DYN_BASE, page aligned.
  start_brk = brk = page_align((task_size / 3) * 2);
}

void AddressSpace::install_vdso() {
  const uint64_t P = page_size;
  // Flags as smaps shows them on the reference kernel:
  //   [vvar], [vvar_vclock]: rd mr pf io de dd      [vdso]: rd ex mr mw me de
  const uint64_t vvar_flags =
      vm::read | vm::mayread | vm::pfnmap | vm::io | vm::dontexpand | vm::dontdump;
  const uint64_t vdso_flags =
      vm::read | vm::exec | vm::mayread | vm::maywrite | vm::mayexec | vm::dontexpand;
  Result<uint64_t> at = get_unmapped_area(nullptr, 0, 8 * P, 0, 0, 0);
  if (at) {
    uint64_t a = *at;
    Vma v;
    v.vm_ops = true;
    v.start = a;
    v.end = a + 4 * P;
    v.flags = vvar_flags;
    v.special = Special::vvar;
    insert_vma(v);
    v.start = a + 4 * P;
    v.end = a + 6 * P;
    v.special = Special::vvar_vclock;
    insert_vma(v);
    v.start = a + 6 * P;
    v.end = a + 8 * P;
    v.flags = vdso_flags;
    v.special = Special::vdso;
    insert_vma(v);
  }
}

void AddressSpace::install_stack(uint64_t start, uint64_t extra_flags) {
  // VM_STACK_FLAGS (and VM_EXEC for PT_GNU_STACK with PF_X) plus mm->def_flags; the kernel
  // has written the arguments, so the stack has anonymous memory.
  Vma s;
  s.end = task_size;
  s.start = start;
  s.flags = vm::read | vm::write | vm::mayread | vm::maywrite | vm::mayexec | vm::growsdown |
            vm::account | extra_flags | def_flags;
  s.pgoff = s.start >> page_shift;
  s.anon = make_ref<AnonVma>(next_anon_id());
  insert_vma(s);
}

}  // namespace vmspace
