// A System whose sandbox is a fresh temporary directory holding one file "f", for the API
// tests (a mixin: the gtest fixture calls open() in SetUp and close() in TearDown).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

struct SandboxFixture {
  // cfg.root_dir is set here; "f" holds `contents`.
  void open(SystemConfig cfg, const std::string &contents) {
    char tmpl[] = "/tmp/vmspace-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/f") << contents;
    cfg.root_dir = dir_;
    sys_ = std::make_unique<System>(cfg);
    p_ = sys_->spawn();
  }
  void close() {
    p_ = Process();
    sys_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // What the host file "f" holds now.
  std::string host_file() const {
    std::ifstream in(dir_ + "/f");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  std::unique_ptr<System> sys_;
  Process p_;
};

}  // namespace vmspace
