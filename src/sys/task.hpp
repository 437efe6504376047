// Helpers shared by the system-call front ends.
#pragma once

#include "mm/address_space.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

// The limits and capabilities of a process, as the mm core wants them.
inline TaskLimits task_limits(const Process &p) {
  TaskLimits l;
  l.rlimit_as = p.rlimit_cur(lx::rlimit_as);
  l.rlimit_data = p.rlimit_cur(lx::rlimit_data);
  l.rlimit_data_max = p.rlimit_max(lx::rlimit_data);
  l.rlimit_memlock = p.rlimit_cur(lx::rlimit_memlock);
  l.rlimit_stack = p.rlimit_cur(lx::rlimit_stack);
  l.cap_ipc_lock = p.has_capability(cap::ipc_lock);
  l.cap_sys_rawio = p.has_capability(cap::sys_rawio);
  l.cap_sys_admin = p.has_capability(cap::sys_admin);
  return l;
}

}  // namespace vmspace
