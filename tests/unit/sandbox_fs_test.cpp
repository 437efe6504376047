// The sandbox's file systems (src/file/sandbox_fs, and src/trace/script_fs with a replay's
// stand-ins): which tree a guest path reaches, what may change, and what is kept as metadata
// only.
#include "file/sandbox_fs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "trace/script_fs.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vmspace-vfs-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = top_ + "/root";
    outside_ = top_ + "/outside";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    std::ofstream(outside_ + "/victim") << "secret";
  }
  void TearDown() override {
    UniqueFd tmp(::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC));
    confined::remove_tree(tmp.get(), top_.substr(5));
  }
  mode_t mode_of(const std::string &p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode;
  }
  std::string top_, root_, outside_;
};

TEST_F(FsTest, SetuidBitsAreMetadataOnly) {
  ScriptFsOptions o;
  o.root = root_;
  ScriptFs vfs(o);
  std::string error;
  ASSERT_TRUE(vfs.make_file("suid", nullptr, 100, 06755, &error)) << error;
  EXPECT_EQ(mode_of(root_ + "/suid") & 07777, 0755u);
  Result<OpenedFile> f = vfs.open(-1, "suid", lx::o_rdonly, 0, true);
  ASSERT_TRUE(f);
  UniqueFd ff(f->host_fd);
  EXPECT_EQ(vfs.special_bits(ff.get()), 06000u);
  // A guest's O_CREAT with setuid bits: the same.
  Result<OpenedFile> g = vfs.open(-1, "made", lx::o_rdwr | lx::o_creat, 04700, true);
  ASSERT_TRUE(g);
  UniqueFd gf(g->host_fd);
  EXPECT_EQ(mode_of(root_ + "/made") & 07000, 0u);
  EXPECT_EQ(vfs.special_bits(gf.get()), 04000u);
  // A recorded file.
  RecordedFile r;
  r.path = r.shown = "/usr/bin/passwd";
  r.size = 1000;
  r.mode = S_IFREG | 04755;
  ASSERT_TRUE(vfs.add_recorded_file(r, &error)) << error;
  EXPECT_EQ(mode_of(root_ + "/host/usr/bin/passwd") & 07777, 0755u);
  Result<OpenedFile> h = vfs.open(-1, "/usr/bin/passwd", lx::o_rdonly, 0, true);
  ASSERT_TRUE(h);
  UniqueFd hf(h->host_fd);
  EXPECT_EQ(vfs.special_bits(hf.get()), 04000u);
}

TEST_F(FsTest, HostFilesAreReadOnly) {
  SandboxOptions so;
  so.root = root_;
  SandboxFs vfs(so);
  Result<OpenedFile> r = vfs.open(-1, outside_ + "/victim", lx::o_rdonly, 0, true);
  ASSERT_TRUE(r);
  ::close(r->host_fd);
  EXPECT_TRUE(vfs.take_violation().empty());
  for (uint64_t flags : {lx::o_rdwr, lx::o_wronly, lx::o_rdonly | lx::o_trunc,
                         lx::o_rdonly | lx::o_creat, lx::o_rdwr | lx::o_creat | lx::o_excl}) {
    EXPECT_EQ(vfs.open(-1, outside_ + "/victim", flags, 0644, true).error(), Errno::acces) << flags;
    EXPECT_FALSE(vfs.take_violation().empty());
  }
  EXPECT_EQ(vfs.unlink(-1, outside_ + "/victim", false, true).error(), Errno::acces);
  EXPECT_EQ(vfs.link_or_rename(-1, outside_ + "/victim", -1, "inside", true, 0, true).error(),
            Errno::acces);
  std::string error;
  EXPECT_FALSE(vfs.make_file(outside_ + "/made", nullptr, 1, 0644, &error));
  EXPECT_FALSE(vfs.make_file("../outside/made", nullptr, 1, 0644, &error));
  std::ifstream in(outside_ + "/victim");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "secret");
  EXPECT_NE(::access((outside_ + "/made").c_str(), F_OK), 0);
}

TEST_F(FsTest, ReplaysSeeOnlyTheirStandIns) {
  ScriptFsOptions o;
  o.root = root_;
  o.recorded_only = true;
  o.copy_host_writes = true;
  ScriptFs vfs(o);
  // The host's own files do not exist in a replay; the memory devices do, as virtual ones.
  EXPECT_EQ(vfs.open(-1, outside_ + "/victim", lx::o_rdonly, 0, true).error(), Errno::noent);
  EXPECT_EQ(vfs.open(-1, "/etc/passwd", lx::o_rdonly, 0, true).error(), Errno::noent);
  Result<OpenedFile> zero = vfs.open(-1, "/dev/zero", lx::o_rdwr, 0, true);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->host_fd, -1);
  EXPECT_TRUE(zero->view.device);
  EXPECT_EQ(zero->view.rdev_major, 1u);
  EXPECT_EQ(zero->view.rdev_minor, 5u);
  // A recorded device opens as recorded, never on the host.
  RecordedFile tty;
  tty.path = tty.shown = "/dev/tty";
  tty.mode = S_IFCHR | 0666;
  tty.rdev = makedev(5, 0);
  tty.open_error = Errno::nxio;
  std::string error;
  ASSERT_TRUE(vfs.add_recorded_file(tty, &error)) << error;
  EXPECT_EQ(vfs.open(-1, "/dev/tty", lx::o_rdwr, 0, true).error(), Errno::nxio);
  // A recorded link keeps its target, which resolves inside the stand-in tree.
  RecordedFile link;
  link.path = link.shown = "/evil";
  link.mode = S_IFLNK | 0777;
  link.link_target = "/../../../../.." + outside_ + "/victim";
  ASSERT_TRUE(vfs.add_recorded_file(link, &error)) << error;
  EXPECT_EQ(vfs.open(-1, "/evil", lx::o_rdwr | lx::o_trunc, 0, true).error(), Errno::noent);
  EXPECT_FALSE(vfs.write_recorded_bytes("/evil", 0, "AAAA", &error));
  std::ifstream in(outside_ + "/victim");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "secret");
}

}  // namespace
}  // namespace vmspace
