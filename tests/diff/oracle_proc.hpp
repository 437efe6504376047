// The kernel side of the differential tests: a vmspace-oracle child process (see oracle.c)
// started with ASLR off, driven over pipes, observed through /proc/PID/maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace difftest {

struct OracleOptions {
  std::string oracle_path;  // the vmspace-oracle binary
  std::string dir;          // its working directory (the shared sandbox)
  bool privileged = true;   // false: setresuid/setresgid to 65534 before exec
  uint64_t rlimit_stack = 8ull << 20;
  uint64_t rlimit_memlock = 8ull << 20;
  uint64_t rlimit_nofile = 1024;
};

class Oracle {
 public:
  Oracle() = default;
  ~Oracle();
  Oracle(const Oracle &) = delete;
  Oracle &operator=(const Oracle &) = delete;

  // Starts the child; false with a message in *error when that fails.
  bool start(const OracleOptions &o, std::string *error);
  // A system call; returns the raw kernel return value (-errno on failure). str (up to 4 KiB)
  // is passed by pointer as argument str_arg when str_arg >= 0.
  long syscall(long nr, const long args[6], int str_arg = -1, const std::string &str = "");
  // Writes (or reads) one byte per page of [addr, addr+len).
  long touch(uint64_t addr, uint64_t len, bool write);
  // Maps n pages at addr, every other page read-only.
  long fill(uint64_t addr, uint64_t n);
  std::string maps() const;
  std::string smaps() const;
  bool alive() const;
  pid_t pid() const { return pid_; }
  void stop();

 private:
  long command(long op, long nr, const long args[6], int str_arg, const std::string &str);
  pid_t pid_ = -1;
  int cmd_fd_ = -1;
  int res_fd_ = -1;
  bool dead_ = false;
};

}  // namespace difftest
