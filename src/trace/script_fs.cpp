// The file system of scripts and traces. See script_fs.hpp.
#include "trace/script_fs.hpp"

namespace vmspace {

namespace {
SandboxOptions sandbox_options(const ScriptFsOptions &o) {
  SandboxOptions s;
  s.root = o.root;
  s.allow_host_read = o.allow_host_read;
  s.max_files = o.max_files;
  s.max_bytes = o.max_bytes;
  return s;
}
}  // namespace

ScriptFs::ScriptFs(const ScriptFsOptions &o)
    : sandbox_(sandbox_options(o)),
      standins_(sandbox_.root_fd(), sandbox_.quota(), o.recorded_only, o.copy_host_writes) {
  sandbox_.set_overlay(&standins_);
  // A recorded trace replays on the devices every Linux machine has, never the host's own.
  std::string error;
  if (o.recorded_only && sandbox_.root_fd() >= 0) (void)standins_.add_builtin_devices(&error);
}

}  // namespace vmspace
