// The kernel side of the differential tests: a vmspace-oracle child process (see oracle.c)
// started with ASLR off, driven over pipes, observed through /proc/PID/{maps,smaps,status}.
// The oracle can fork: each of its processes serves one slot (0 is the first process).
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
  static constexpr int kSlots = 4;  // as SLOTS in oracle.c
  static constexpr long kDead = -10000;

  Oracle() = default;
  ~Oracle();
  Oracle(const Oracle &) = delete;
  Oracle &operator=(const Oracle &) = delete;

  // Starts the first process (slot 0); false with a message in *error when that fails.
  bool start(const OracleOptions &o, std::string *error);
  // A system call in the process of `slot`; returns the raw kernel return value (-errno on
  // failure), or kDead when the process died. str (up to 4 KiB) is passed by pointer as
  // argument str_arg when str_arg >= 0.
  long syscall(int slot, long nr, const long args[6], int str_arg = -1,
               const std::string &str = "");
  // The same, and the bytes the call left in the string buffer when it succeeded (out_len of
  // them, or as many as it returned when out_len < 0; at most 4096): read's data, mincore's
  // vector.
  long syscall_out(int slot, long nr, const long args[6], int str_arg, const std::string &str,
                   long out_len, std::string *out);
  // Guest memory, loaded and stored one byte at a time by the process: touch (load one byte
  // of each page, for a write store it back; arg = write), peek (len <= 4096 bytes), poke
  // (the bytes), memset (len bytes of value arg). A fault ends the process: the answer then
  // holds its signal, si_code and si_addr.
  enum class MemOp { touch = 2, peek = 6, poke = 7, memset = 8 };
  struct Memory {
    bool dead = false;  // the process was gone (or died without a fault report)
    int signal = 0, code = 0;
    uint64_t addr = 0;
    std::string bytes;  // peek
  };
  Memory memory(int slot, MemOp op, uint64_t addr, uint64_t len, uint64_t arg,
                const std::string &bytes = "");
  // Maps n pages at addr, every other page read-only.
  long fill(int slot, uint64_t addr, uint64_t n);
  // fork (or vfork) in `slot`; the child serves child_slot. Returns the child's pid or
  // -errno. After a vfork the parent slot is blocked until the child exits or dies.
  long fork(int slot, int child_slot, bool vfork);
  // exit_group in `slot`.
  void exit(int slot);
  std::string maps(int slot) const;
  std::string smaps(int slot) const;
  std::string smaps_rollup(int slot) const;
  std::string status(int slot) const;
  std::string stat(int slot) const;
  bool alive(int slot) const { return slots_[slot].pid > 0 && !slots_[slot].dead; }
  bool blocked(int slot) const { return slots_[slot].vfork_child >= 0; }
  pid_t pid(int slot) const { return slots_[slot].pid; }
  void stop();

 private:
  struct Slot {
    pid_t pid = -1;
    int cmd_fd = -1, res_fd = -1, pidfd = -1;
    bool dead = false;
    int vfork_child = -1;  // the slot of a vfork child this one waits for
  };
  long command(int slot, long op, const long args[6], long nr, int str_arg, const std::string &str);
  bool send(int slot, long op, const long args[6], long nr, int str_arg, const std::string &str,
            long out_len = 0);
  // Reads one answer of `slot`; false when the process died first.
  bool receive(int slot, long *ret);
  void mark_dead(int slot);
  Slot slots_[kSlots];
  pid_t leader_ = -1;
};

}  // namespace difftest
