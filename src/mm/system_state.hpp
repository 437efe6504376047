// SystemState: what all processes of one System share (Linux: the global kernel state the mm
// code consults): configuration, the inode cache, memory commitment, huge page pools, the
// sandbox for host files.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/meter.hpp"
#include "file/inode.hpp"
#include "file/vfs.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

struct SystemState {
  explicit SystemState(SystemConfig c);

  SystemConfig cfg;
  MemoryMeter meter;  // declared before anything that charges it
  InodeCache inodes;  // declared before anything that holds inodes
  Vfs vfs;
  // The open /dev/null every descriptor placeholder of a replay shares (one host descriptor
  // for any number of them).
  Ref<OpenFile> placeholder;
  std::atomic<int64_t> committed_pages{0};  // vm_committed_as
  uint64_t total_ram_pages = 0;
  uint64_t total_swap_pages = 0;
  std::atomic<uint64_t> anon_ids{1};

  std::mutex violation_mu;
  std::string violation;
  void report_violation(std::string msg) {
    std::lock_guard<std::mutex> g(violation_mu);
    violation = std::move(msg);
  }
};

// For calls that may make VMAs, descriptors or processes: ENOMEM once the model's memory
// limit is reached (or would be by `more` bytes); see MemoryMeter.
inline Result<void> memory_available(SystemState &s, uint64_t more = 0) {
  if (s.meter.refuse(more)) return fail(Errno::nomem);
  return {};
}

struct System::Impl : SystemState {
  using SystemState::SystemState;
  std::map<int, std::unique_ptr<Process>> procs;
  int next_pid = 1;
  std::mutex procs_mu;
};

}  // namespace vmspace
