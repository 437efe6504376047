// What the libFuzzer targets share: a fresh sandbox per input, a System with tight limits,
// the input run statement by statement with every process's invariants checked after each
// step (AddressSpace::validate), and the sandbox removed afterwards. A broken invariant
// aborts: libFuzzer reports it as a crash with the input that made it.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/unique_fd.hpp"
#include "file/confined.hpp"
#include "trace/runner.hpp"
#include "trace/script.hpp"
#include "trace/script_fs.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace::fuzz {

enum class Mode { script, trace, strace };

// A sandbox directory under $TMPDIR (or /tmp), removed with everything in it.
class Sandbox {
 public:
  Sandbox() {
    const char *t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/vmspace-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    holder_.reset(
        ::open(dir_.substr(0, dir_.rfind('/')).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  ~Sandbox() {
    if (!confined::remove_tree(holder_.get(), dir_.substr(dir_.rfind('/') + 1))) std::abort();
  }
  const std::string &dir() const { return dir_; }

 private:
  std::string dir_;
  UniqueFd holder_;
};

inline SystemConfig tight_config(const std::string &root) {
  SystemConfig cfg;
  cfg.root_dir = root;
  cfg.max_memory = 256ull << 20;
  cfg.max_sandbox_files = 256;
  cfg.max_sandbox_bytes = 1u << 20;
  return cfg;
}

// Every live process's address space must be consistent.
inline void check_all(System &sys) {
  for (int pid : sys.pids()) {
    Process p = sys.process(pid);
    std::string why;
    if (p && !p.validate(&why)) {
      std::fprintf(stderr, "validate() failed for pid %d: %s\n", pid, why.c_str());
      std::abort();
    }
  }
}

inline FILE *null_stream() {
  static FILE *f = std::fopen("/dev/null", "w");
  return f;
}

inline int run_text(std::string_view text, Mode mode) {
  Sandbox sb;
  SystemConfig cfg = tight_config(sb.dir());
  ScriptFsOptions fso;
  fso.root = sb.dir();
  fso.max_files = cfg.max_sandbox_files;
  fso.max_bytes = cfg.max_sandbox_bytes;
  fso.copy_host_writes = mode != Mode::script;
  fso.recorded_only = mode == Mode::trace;
  RunOptions ro;
  std::unique_ptr<System> owned = make_script_system(cfg, fso, &ro.fs);
  System &sys = *owned;
  ParseOptions popts;
  popts.ignore_unknown = mode == Mode::strace;
  ScriptReader reader(text, "fuzz", popts);
  ro.out = nullptr;
  ro.err = null_stream();
  ro.strace_mode = mode == Mode::strace;
  ro.fill_fd_gaps = mode != Mode::script;
  ro.host_files = false;
  ro.max_reports = 0;
  ro.after_step = check_all;
  std::string error;
  (void)run_stream(reader, "fuzz", text.size(), sys, ro, &error);
  check_all(sys);
  return 0;
}

}  // namespace vmspace::fuzz
