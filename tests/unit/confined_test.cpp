// Confined path resolution (src/file/confined): nothing a path or a link says leads out of
// the root, and removal never follows a link. Each test builds a sandbox next to a canary
// directory and checks the canary afterwards.
#include "file/confined.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace vmspace {
namespace {

class Confined : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vmspace-confined-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = top_ + "/root";
    canary_ = top_ + "/canary";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(canary_.c_str(), 0755), 0);
    std::ofstream(canary_ + "/victim") << "secret";
    root_fd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override {
    UniqueFd top(::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC));
    confined::remove_tree(top.get(), top_.substr(5));
  }
  void link(const std::string &target, const std::string &name) {
    ASSERT_EQ(::symlink(target.c_str(), (root_ + "/" + name).c_str()), 0);
  }
  bool exists(const std::string &p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
  }
  std::string victim() {
    std::ifstream in(canary_ + "/victim");
    std::string s;
    std::getline(in, s);
    return s;
  }
  std::string top_, root_, canary_;
  UniqueFd root_fd_;
};

// Opens `path` in the root; the errno (none when it opened).
Errno open_errno(int root, const std::string &path, int flags, mode_t mode = 0) {
  return confined::open_at(root, path, flags, mode, confined::Scope::in_root).error();
}

TEST_F(Confined, AbsoluteLinkTargetsStartAtTheRoot) {
  link(canary_ + "/victim", "abs");
  link("/../../../../../.." + canary_ + "/victim", "dotdot");
  for (const char *name : {"abs", "dotdot"})
    EXPECT_EQ(open_errno(root_fd_.get(), name, O_RDWR | O_TRUNC), Errno::noent) << name;
  EXPECT_EQ(victim(), "secret");
}

TEST_F(Confined, DotDotStopsAtTheRoot) {
  link("../../../../../../../../../" + canary_, "up");
  EXPECT_EQ(open_errno(root_fd_.get(), "up/victim", O_RDONLY), Errno::noent);
  EXPECT_EQ(open_errno(root_fd_.get(), "../canary/victim", O_RDONLY), Errno::noent);
  // "/.." is the root itself: a file made there stays inside.
  EXPECT_EQ(open_errno(root_fd_.get(), "/../../made", O_WRONLY | O_CREAT, 0600), Errno::none);
  EXPECT_TRUE(exists(root_ + "/made"));
  EXPECT_FALSE(exists(top_ + "/made"));
}

TEST_F(Confined, CreatingThroughADanglingLinkStaysInside) {
  link(canary_ + "/new", "dangling");
  // The link's target is made inside the root (as in a chroot), if its directory is there.
  EXPECT_EQ(open_errno(root_fd_.get(), "dangling", O_WRONLY | O_CREAT, 0644), Errno::noent);
  EXPECT_FALSE(exists(canary_ + "/new"));
  ASSERT_TRUE(confined::make_dirs(root_fd_.get(), canary_, 0755));
  EXPECT_EQ(open_errno(root_fd_.get(), "dangling", O_WRONLY | O_CREAT, 0644), Errno::none);
  EXPECT_TRUE(exists(root_ + canary_ + "/new"));
  EXPECT_FALSE(exists(canary_ + "/new"));
}

TEST_F(Confined, MagicLinksAreRefused) {
  EXPECT_EQ(confined::open_at(AT_FDCWD, "/proc/self/cwd", O_PATH, 0, confined::Scope::host).error(),
            Errno::loop);
  link("/proc/self/root" + canary_ + "/victim", "magic");
  EXPECT_NE(open_errno(root_fd_.get(), "magic", O_RDONLY), Errno::none);
}

TEST_F(Confined, ParentOfNeverFollowsTheLastComponent) {
  link(canary_ + "/victim", "v");
  Result<confined::Parent> p = confined::parent_of(root_fd_.get(), "v", confined::Scope::in_root);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "v");
  EXPECT_EQ(::unlinkat(p->dir.get(), p->name.c_str(), 0), 0);
  EXPECT_FALSE(exists(root_ + "/v"));
  EXPECT_EQ(victim(), "secret");
  // A directory part that is a link to the outside resolves inside the root.
  link(canary_, "d");
  Result<confined::Parent> q =
      confined::parent_of(root_fd_.get(), "d/victim", confined::Scope::in_root);
  EXPECT_FALSE(q);
}

TEST_F(Confined, SplitLastAsTheKernelSplits) {
  std::string d, l;
  confined::split_last("a/b/", &d, &l);
  EXPECT_EQ(d, "a");
  EXPECT_EQ(l, "b/");
  confined::split_last("/x", &d, &l);
  EXPECT_EQ(d, "/");
  EXPECT_EQ(l, "x");
  confined::split_last("///", &d, &l);
  EXPECT_EQ(d, "/");
  EXPECT_EQ(l, "");
  confined::split_last("name", &d, &l);
  EXPECT_EQ(d, "");
  EXPECT_EQ(l, "name");
  confined::split_last("a//b", &d, &l);
  EXPECT_EQ(d, "a");
  EXPECT_EQ(l, "b");
}

TEST_F(Confined, RemoveTreeNeverFollowsLinksAndHandlesDepth) {
  // A deep tree (deeper than the removal keeps open at once) with links to the outside.
  std::string path = root_ + "/deep";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  for (int i = 0; i < 300; i++) {
    ASSERT_EQ(::symlink(canary_.c_str(), (path + "/out").c_str()), 0);
    path += "/d";
    ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << i;
  }
  UniqueFd top(::open(top_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(confined::remove_tree(top.get(), "root"));
  EXPECT_FALSE(exists(root_));
  EXPECT_EQ(victim(), "secret");
  EXPECT_TRUE(exists(canary_ + "/victim"));
}

}  // namespace
}  // namespace vmspace
