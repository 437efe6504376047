// See x86_operand.hpp. Opcode facts from the Intel SDM, volume 2 (opcode map, appendix A).
#include "trace/x86_operand.hpp"

namespace vmspace {

namespace {

uint64_t gpr(const user_regs_struct &r, unsigned n) {
  switch (n & 15) {
    case 0:
      return r.rax;
    case 1:
      return r.rcx;
    case 2:
      return r.rdx;
    case 3:
      return r.rbx;
    case 4:
      return r.rsp;
    case 5:
      return r.rbp;
    case 6:
      return r.rsi;
    case 7:
      return r.rdi;
    case 8:
      return r.r8;
    case 9:
      return r.r9;
    case 10:
      return r.r10;
    case 11:
      return r.r11;
    case 12:
      return r.r12;
    case 13:
      return r.r13;
    case 14:
      return r.r14;
    default:
      return r.r15;
  }
}

// One-byte opcodes (map 0) that take a ModRM byte in 64-bit mode.
bool map0_modrm(uint8_t op) {
  if (op < 0x40) return (op & 7) < 4;  // the ALU block: op r/m,r / op r,r/m
  switch (op) {
    case 0x63:
    case 0x69:
    case 0x6b:
    case 0xc0:
    case 0xc1:
    case 0xc6:
    case 0xc7:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xf6:
    case 0xf7:
    case 0xfe:
    case 0xff:
      return true;
    default:
      return (op >= 0x80 && op <= 0x8f) || (op >= 0xd8 && op <= 0xdf);
  }
}

// Two-byte opcodes (0F xx) without a ModRM byte.
bool map1_no_modrm(uint8_t op) {
  switch (op) {
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0b:
    case 0x0e:
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x37:
    case 0x77:
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa8:
    case 0xa9:
    case 0xaa:
      return true;
    default:
      return (op >= 0x80 && op <= 0x8f) || (op >= 0xc8 && op <= 0xcf);
  }
}

// Stores whose first access to the operand is a write (the rest read it first).
bool plain_store(int map, uint8_t op) {
  if (map == 0) return op == 0x88 || op == 0x89 || op == 0xc6 || op == 0xc7;
  if (map == 1)
    return op == 0x11 || op == 0x13 || op == 0x17 || op == 0x29 || op == 0x2b || op == 0x7e ||
           op == 0x7f || op == 0xd6 || op == 0xe7;
  return false;
}

}  // namespace

MemOperand decode_mem_operand(const uint8_t *code, size_t len, const user_regs_struct &r) {
  MemOperand m;
  size_t i = 0;
  uint64_t seg = 0;
  bool addr32 = false;
  // Legacy prefixes.
  for (; i < len; i++) {
    const uint8_t b = code[i];
    if (b == 0x64) {
      seg = r.fs_base;
    } else if (b == 0x65) {
      seg = r.gs_base;
    } else if (b == 0x67) {
      addr32 = true;
    } else if (b == 0x66 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
               b == 0x3e || b == 0x26) {
      // operand size, lock, rep, and the segments 64-bit mode ignores
    } else {
      break;
    }
  }
  if (i >= len) return m;
  unsigned rex_x = 0, rex_b = 0;
  int map = 0;
  bool evex = false;
  if ((code[i] & 0xf0) == 0x40) {
    rex_x = (code[i] >> 1) & 1;
    rex_b = code[i] & 1;
    if (++i >= len) return m;
  }
  if (code[i] == 0xc5) {  // two-byte VEX: map 0F
    if (i + 2 >= len) return m;
    map = 1;
    i += 2;
  } else if (code[i] == 0xc4) {  // three-byte VEX
    if (i + 3 >= len) return m;
    rex_x = ((code[i + 1] >> 6) & 1) ^ 1;
    rex_b = ((code[i + 1] >> 5) & 1) ^ 1;
    map = code[i + 1] & 0x1f;
    i += 3;
  } else if (code[i] == 0x62) {  // EVEX
    if (i + 4 >= len) return m;
    rex_x = ((code[i + 1] >> 6) & 1) ^ 1;
    rex_b = ((code[i + 1] >> 5) & 1) ^ 1;
    map = code[i + 1] & 7;
    evex = true;
    i += 4;
  } else if (code[i] == 0x0f) {
    if (++i >= len) return m;
    map = 1;
    if (code[i] == 0x38 || code[i] == 0x3a) {
      map = code[i] == 0x38 ? 2 : 3;
      if (++i >= len) return m;
    }
  }
  if (map < 0 || map > 3 || i >= len) return m;
  const uint8_t op = code[i++];
  auto fin = [&](uint64_t a) {
    if (addr32) a &= 0xffffffffull;
    return a + seg;
  };
  if (map == 0 && op >= 0xa4 && op <= 0xaf && op != 0xa8 && op != 0xa9) {
    // String instructions: movs/cmps read [RSI] (then [RDI]), stos/scas use [RDI], lods [RSI].
    m.ok = true;
    if (op == 0xa4 || op == 0xa5 || op == 0xa6 || op == 0xa7) {
      m.addr = fin(r.rsi);
      m.addr2 = fin(r.rdi);
    } else if (op == 0xac || op == 0xad) {
      m.addr = fin(r.rsi);
    } else {
      m.addr = fin(r.rdi);
      m.store = op == 0xaa || op == 0xab;
    }
    return m;
  }
  if (map == 0 && op >= 0xa0 && op <= 0xa3) {
    // mov between the accumulator and a 64-bit absolute address (moffs; 32 bits with 0x67).
    const size_t w = addr32 ? 4 : 8;
    if (i + w > len) return m;
    uint64_t a = 0;
    __builtin_memcpy(&a, code + i, w);
    m.ok = true;
    m.addr = fin(a);
    m.store = op >= 0xa2;
    return m;
  }
  const bool has_modrm = map == 0 ? map0_modrm(op) : map == 1 ? !map1_no_modrm(op) : true;
  if (!has_modrm || (map == 0 && op == 0x8d) || i >= len) return m;  // lea reads no memory
  const uint8_t modrm = code[i++];
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  if (mod == 3) return m;  // a register operand
  uint64_t a = 0;
  if (rm == 4) {
    if (i >= len) return m;
    const uint8_t sib = code[i++];
    const unsigned scale = sib >> 6, index = ((sib >> 3) & 7) | (rex_x << 3),
                   base = (sib & 7) | (rex_b << 3);
    if (index != 4) a += gpr(r, index) << scale;
    if ((base & 7) == 5 && mod == 0) {
      if (i + 4 > len) return m;
      int32_t d;
      __builtin_memcpy(&d, code + i, 4);
      a += static_cast<uint64_t>(static_cast<int64_t>(d));
      i += 4;
    } else {
      a += gpr(r, base);
    }
  } else if (rm == 5 && mod == 0) {
    return m;  // RIP-relative
  } else {
    a += gpr(r, rm | (rex_b << 3));
  }
  if (mod == 1) {
    if (evex || i >= len) return m;  // EVEX scales an 8-bit displacement by the operand size
    a += static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(code[i])));
  } else if (mod == 2) {
    if (i + 4 > len) return m;
    int32_t d;
    __builtin_memcpy(&d, code + i, 4);
    a += static_cast<uint64_t>(static_cast<int64_t>(d));
  }
  m.ok = true;
  m.addr = fin(a);
  m.store = !evex && plain_store(map, op);
  return m;
}

}  // namespace vmspace
