// The memory operand of an x86-64 instruction: where a load or store that the kernel answered
// with a general-protection fault (SIGSEGV SI_KERNEL, si_addr 0: a non-canonical address)
// meant to go. The recorder replays such a fault as a touch of that address.
//
// A small decoder, not a disassembler: legacy prefixes (segment overrides FS/GS add their
// base, 0x67 truncates the address to 32 bits), REX, VEX (C4/C5), EVEX without a compressed
// 8-bit displacement, the one-, two- and three-byte opcode maps, ModRM/SIB addressing, and the
// string instructions (RSI/RDI). RIP-relative operands (never non-canonical in practice) and
// implicit stack accesses are not decoded.
#pragma once

#include <sys/user.h>

#include <cstddef>
#include <cstdint>

namespace vmspace {

struct MemOperand {
  bool ok = false;     // decoded (false: not an instruction this decoder knows to access memory)
  uint64_t addr = 0;   // the operand's first byte
  uint64_t addr2 = 0;  // a second operand (movs, cmps: the destination), 0 if none
  bool store = false;  // a plain store (mov to memory, stos, movs' destination)
};

// Decodes the instruction in code[0, len) (len <= 15 is enough) with the registers it ran
// with.
MemOperand decode_mem_operand(const uint8_t *code, size_t len, const user_regs_struct &r);

// Whether addr is canonical on x86-64 with 4-level paging (bits 63..47 all equal).
inline bool canonical(uint64_t addr) {
  const int64_t s = static_cast<int64_t>(addr) >> 47;
  return s == 0 || s == -1;
}

}  // namespace vmspace
