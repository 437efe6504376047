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

#include "file/inode.hpp"
#include "file/vfs.hpp"
#include "mm/mm_context.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

struct SystemState : MmContext {
  explicit SystemState(SystemConfig c);

  SystemConfig config;  // as the System was made (its sysctls: the values at boot)
  uint64_t root_capabilities = 0;
  Vfs vfs;
  // The open /dev/null every descriptor placeholder of a replay shares (one host descriptor
  // for any number of them).
  Ref<OpenFile> placeholder;

  std::mutex violation_mu;
  std::string violation;
  void report_violation(std::string msg) {
    std::lock_guard<std::mutex> g(violation_mu);
    violation = std::move(msg);
  }
};

struct System::Impl : SystemState {
  using SystemState::SystemState;
  std::map<int, std::unique_ptr<Process>> procs;
  int next_pid = 1;
  std::mutex procs_mu;
};

}  // namespace vmspace
