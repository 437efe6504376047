// ScriptFs: the file system scripts and traces run on. It is the sandbox file system
// (src/file/sandbox_fs) with a replay's stand-in tree (standins.hpp) as its overlay, and it
// carries out the directives that make files: @file (sandbox files), @hostfile and @hostdata
// (stand-ins of recorded host files), @fdsize (the size of a stand-in).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "file/sandbox_fs.hpp"
#include "trace/standins.hpp"
#include "vmspace/filesystem.hpp"

namespace vmspace {

struct ScriptFsOptions {
  std::string root = ".";       // the sandbox directory
  bool allow_host_read = true;  // absolute paths outside the sandbox open read-only
  // A recorded trace's replay: absolute paths exist only as stand-ins (the memory devices
  // excepted); the host's own files are never looked at.
  bool recorded_only = false;
  // A replay: host files the guest writes get stand-in copies instead of being refused.
  bool copy_host_writes = false;
  uint64_t max_files = 1000000;
  uint64_t max_bytes = 1ull << 30;
};

class ScriptFs : public FileSystem {
 public:
  explicit ScriptFs(const ScriptFsOptions &o);

  Result<OpenedFile> open(int dir_fd, std::string_view path, uint64_t flags, uint32_t mode,
                          bool privileged) override {
    return sandbox_.open(dir_fd, path, flags, mode, privileged);
  }
  Result<void> unlink(int dir_fd, std::string_view path, bool dir, bool privileged) override {
    return sandbox_.unlink(dir_fd, path, dir, privileged);
  }
  Result<void> link_or_rename(int old_dir_fd, std::string_view old_path, int new_dir_fd,
                              std::string_view new_path, bool rename, unsigned flags,
                              bool privileged) override {
    return sandbox_.link_or_rename(old_dir_fd, old_path, new_dir_fd, new_path, rename, flags,
                                   privileged);
  }
  std::string take_violation() override { return sandbox_.take_violation(); }

  // @hostfile, @hostdata (see StandinTree).
  bool add_recorded_file(const RecordedFile &r, std::string *error) {
    MutexLock g(sandbox_.mutex());
    return standins_.add(r, error);
  }
  bool write_recorded_bytes(const std::string &path, uint64_t offset, const std::string &bytes,
                            std::string *error) {
    MutexLock g(sandbox_.mutex());
    return standins_.write_bytes(path, offset, bytes, error);
  }
  // @file (see SandboxFs::make_file).
  bool make_file(const std::string &path, const std::string *content, uint64_t size, uint32_t mode,
                 std::string *error) {
    return sandbox_.make_file(path, content, size, mode, error);
  }
  // @fdsize: the size of the sandbox file open as host_fd.
  Result<void> resize(int host_fd, uint64_t size) { return sandbox_.resize(host_fd, size); }
  uint32_t special_bits(int host_fd) { return sandbox_.special_bits(host_fd); }

  // The sandbox directory ($ROOT in expected maps lines).
  const std::string &root() const { return sandbox_.root(); }

 private:
  SandboxFs sandbox_;
  StandinTree standins_;
};

}  // namespace vmspace
