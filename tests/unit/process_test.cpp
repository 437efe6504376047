// Process handles: they never dangle. A call on a process that has exited (or whose System is
// gone) fails with ESRCH; an execve that fails past its point of no return kills the process
// with SIGSEGV, as Linux does, instead of destroying it under the caller.
#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "vmspace/abi.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {
namespace {

TEST(ProcessHandle, CallsAfterExitFailWithEsrch) {
  System sys;
  Process p = sys.spawn();
  Result<int> child = p.fork();
  ASSERT_TRUE(child);
  Process c = sys.process(*child);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c.alive());
  EXPECT_EQ(sys.pids(), (std::vector<int>{1, 2}));
  c.exit_group(3);
  EXPECT_FALSE(c.alive());
  EXPECT_EQ(c.exit_status(), 3);
  EXPECT_EQ(c.exit_signal(), 0);
  EXPECT_EQ(c.mmap(0, 4096, lx::prot_read, lx::map_private | lx::map_anonymous, ~0ull, 0).error(),
            Errno::srch);
  EXPECT_EQ(c.open("x", lx::o_rdonly, 0).error(), Errno::srch);
  EXPECT_EQ(c.fork().error(), Errno::srch);
  EXPECT_EQ(c.maps(), "");
  EXPECT_EQ(c.pid(), *child);
  EXPECT_FALSE(sys.process(*child));
  EXPECT_EQ(sys.pids(), (std::vector<int>{1}));
  // The parent is untouched.
  EXPECT_TRUE(p.mmap(0, 4096, lx::prot_read, lx::map_private | lx::map_anonymous, ~0ull, 0));
  EXPECT_FALSE(Process());
  EXPECT_EQ(Process().munmap(0, 4096).error(), Errno::srch);
}

TEST(ProcessHandle, OutlivesItsSystem) {
  Process p;
  {
    System sys;
    p = sys.spawn();
    ASSERT_TRUE(p.mmap(0, 8192, lx::prot_read, lx::map_private | lx::map_anonymous, ~0ull, 0));
  }
  EXPECT_FALSE(p.alive());
  EXPECT_EQ(p.mprotect(0, 4096, lx::prot_read).error(), Errno::srch);
  EXPECT_EQ(p.vmas().size(), 0u);
  p.exit_group(0);  // nothing to end
}

TEST(ProcessHandle, ExecveFailingPastThePointOfNoReturnKills) {
  char tmpl[] = "/tmp/vmspace-process-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  // An ELF executable whose only segment lies at address 0, below vm.mmap_min_addr: the
  // kernel finds out while mapping it, after the old image is gone.
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = 0x100;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_flags = PF_R | PF_X;
  ph.p_offset = 0;
  ph.p_vaddr = 0;
  ph.p_filesz = ph.p_memsz = 0x200;
  ph.p_align = 0x1000;
  {
    std::ofstream f(dir + "/low", std::ios::binary);
    f.write(reinterpret_cast<const char *>(&eh), sizeof eh);
    f.write(reinterpret_cast<const char *>(&ph), sizeof ph);
    f.write(std::string(0x200, '\0').data(), 0x200);
  }
  ::chmod((dir + "/low").c_str(), 0755);
  SystemConfig cfg;
  cfg.root_dir = dir;
  {
    System sys(cfg);
    SpawnOptions so;
    so.privileged = false;  // no CAP_SYS_RAWIO: address 0 is refused
    Process p = sys.spawn(so);
    Result<void> r = p.execve("low", {"low"}, {});
    EXPECT_FALSE(r);
    EXPECT_FALSE(p.alive());
    EXPECT_EQ(p.exit_signal(), lx::sigsegv);
    EXPECT_FALSE(sys.process(1));
  }
  ::unlink((dir + "/low").c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace vmspace
