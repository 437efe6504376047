// Reading the headers of an ELF executable, as execve needs them (Linux: fs/binfmt_elf.c
// load_elf_binary, load_elf_phdrs, elf_check_arch for x86-64).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmspace/result.hpp"

namespace vmspace {

namespace elf {
inline constexpr uint16_t et_exec = 2, et_dyn = 3;
inline constexpr uint32_t pt_load = 1, pt_interp = 3, pt_gnu_stack = 0x6474e551;
inline constexpr uint32_t pf_x = 1, pf_w = 2, pf_r = 4;
}  // namespace elf

struct ElfSegment {
  uint32_t type = 0, flags = 0;
  uint64_t offset = 0, vaddr = 0, filesz = 0, memsz = 0, align = 0;
};

struct ElfImage {
  uint16_t type = 0;  // elf::et_exec or elf::et_dyn
  uint64_t entry = 0;
  uint64_t phoff = 0;
  uint16_t phnum = 0;
  std::vector<ElfSegment> phdrs;
  std::string interp;          // PT_INTERP, empty without one
  bool exec_stack = false;     // PT_GNU_STACK with PF_X (EXSTACK_ENABLE_X)
  bool no_exec_stack = false;  // PT_GNU_STACK without PF_X (EXSTACK_DISABLE_X)
};

// Parses the ELF header and program headers of the file open at host_fd. ENOEXEC for what
// is not an x86-64 ELF executable or shared object (Linux's checks, in its order); for an
// interpreter the caller maps that to ELIBBAD.
Result<ElfImage> read_elf(int host_fd);

}  // namespace vmspace
