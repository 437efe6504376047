// The recorder's x86-64 memory-operand decoder (where a SIGSEGV SI_KERNEL access pointed).
#include "trace/x86_operand.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vmspace {
namespace {

user_regs_struct regs() {
  user_regs_struct r{};
  r.rax = 0x1000;
  r.rsp = 0x7ffc0000;
  r.rdi = 0x8000000000000000ull;
  r.rsi = 0x2000;
  r.r9 = 3;
  r.r13 = 0x800000000008ull;
  r.fs_base = 0x7f0000000000ull;
  return r;
}

MemOperand dec(std::vector<uint8_t> code) {
  return decode_mem_operand(code.data(), code.size(), regs());
}

TEST(X86Operand, ModRmSibDisplacementAndRex) {
  MemOperand m = dec({0x48, 0x8b, 0x00});  // mov rax, [rax]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x1000u);
  EXPECT_FALSE(m.store);
  m = dec({0x8b, 0x44, 0x24, 0x08});  // mov eax, [rsp+8]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x7ffc0008u);
  m = dec({0x42, 0x8b, 0x04, 0x88});  // mov eax, [rax+r9*4]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x1000u + 12);
  m = dec({0x41, 0x89, 0x45, 0xf8});  // mov [r13-8], eax
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x800000000000ull);
  EXPECT_TRUE(m.store);
  m = dec({0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00});  // mov eax, [0x10] (SIB, no base)
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x10u);
}

TEST(X86Operand, PrefixesVexStringsAndAbsolute) {
  MemOperand m = dec({0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0});  // mov rax, fs:[0x28]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x7f0000000028ull);
  m = dec({0x67, 0x8b, 0x00});  // mov eax, [eax]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x1000u);
  m = dec({0xc5, 0xf8, 0x11, 0x07});  // vmovups [rdi], xmm0
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x8000000000000000ull);
  EXPECT_TRUE(m.store);
  m = dec({0xf3, 0x48, 0xab});  // rep stosq
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x8000000000000000ull);
  EXPECT_TRUE(m.store);
  m = dec({0x48, 0xa5});  // movsq: [rsi] then [rdi]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x2000u);
  EXPECT_EQ(m.addr2, 0x8000000000000000ull);
  m = dec({0x48, 0xa1, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0});  // movabs rax, [imm64]
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.addr, 0x7ffffffffffcull);
  EXPECT_FALSE(canonical(0x800000000000ull));
  EXPECT_TRUE(canonical(0xffff800000000000ull));
  EXPECT_FALSE(canonical(0xffff7fffffffffffull));
}

TEST(X86Operand, NoMemoryOperand) {
  EXPECT_FALSE(dec({0x48, 0x8d, 0x04, 0x24}).ok);        // lea
  EXPECT_FALSE(dec({0x0f, 0x05}).ok);                    // syscall
  EXPECT_FALSE(dec({0x48, 0x89, 0xc3}).ok);              // mov rbx, rax
  EXPECT_FALSE(dec({0x48, 0x8b, 0x05, 1, 2, 3, 4}).ok);  // RIP-relative: not decoded
  EXPECT_FALSE(dec({0x48, 0x8b}).ok);                    // cut short
  EXPECT_FALSE(dec({}).ok);
}

}  // namespace
}  // namespace vmspace
