// The script runner behind `vmspace run`.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "trace/calls.hpp"
#include "trace/script.hpp"
#include "vmspace/types.hpp"

namespace vmspace {

class System;

// What a run compared: calls with an expected result and @maps blocks.
struct RunStats {
  long calls = 0, calls_differing = 0;
  long checkpoints = 0, checkpoints_differing = 0;
};

class ScriptFs;

struct RunOptions {
  // The System's file system, when it is a ScriptFs: @file, @hostfile, @hostdata and @fdsize
  // need it; $ROOT in expected maps lines is its sandbox directory.
  ScriptFs *fs = nullptr;
  FILE *out = stdout;            // the calls with their results, as a script (null: none)
  FILE *err = stderr;            // mismatches and errors
  std::string script_dir = ".";  // where @layout FILE names are looked up
  RunStats *stats = nullptr;     // filled in when given
  // An strace log: addresses of a log recorded with ASLR on are relocated to vmspace's, and
  // calls vmspace does not model that make descriptors leave placeholders.
  bool strace_mode = false;
  // A recorded trace: a call that takes the lowest free descriptor and got N on the kernel
  // proves the ones below N were open there. Descriptors made by calls a recorder cannot put
  // in order (an accept that returned while another thread opened a file) get placeholders.
  bool fill_fd_gaps = false;
  // The directory the recorded program ran in: relative paths are taken from there (empty:
  // they resolve in the sandbox).
  std::string cwd;
  // The most mismatches printed (all are counted).
  uint64_t max_reports = ~0ull;
  // Directives may read host files (@layout FILE). False for replays: a trace that names a
  // host file is refused.
  bool host_files = true;
  // Called after every statement (fuzzing checks invariants there).
  std::function<void(System &)> after_step;
  // Called now and then with the statements run so far and their number (a progress bar).
  std::function<void(size_t done, size_t total)> progress;
};

struct ScriptFsOptions;
// A System for scripts and traces: its file system is a ScriptFs made with `fs_options`
// (*fs points to it; the System owns it).
std::unique_ptr<System> make_script_system(const SystemConfig &cfg,
                                           const ScriptFsOptions &fs_options, ScriptFs **fs);

// Exit status of a run: 0 every expectation held, 1 some did not, 2 bad input.
enum RunStatus { run_ok = 0, run_mismatch = 1, run_bad_input = 2 };

// Checks what parsing cannot (argument counts and kinds, variables bound before use).
// Returns false with "file:line:col: message" in *error.
bool check_script(const Script &s, std::string *error);

// The value of an expression given the bound variables (unknown names read as 0).
uint64_t eval_expr(const Expr &e, const std::map<std::string, uint64_t> &vars);

struct CallDef;
struct ArgVal;
// The argument values of a call, strings and strace arrays kept as such.
// (*out is reused: its strings keep their buffers.)
void call_args(const std::vector<Expr> &exprs, const std::map<std::string, uint64_t> &vars,
               std::vector<ArgVal> *out);

// Does an expected maps line (from an @maps block) match an actual one? Fields compare with
// blanks collapsed; "*" matches any field and $ROOT stands for the sandbox directory.
bool maps_line_matches(const std::string &expected, const std::string &actual,
                       const std::string &root);

// The largest layout file @layout FILE reads.
inline constexpr size_t kMaxLayoutBytes = 16u << 20;
// Reads the layout file `name` (relative to script_dir unless absolute): a regular file of
// at most kMaxLayoutBytes without NUL bytes. False with a message in *error.
bool read_layout_file(const std::string &name, const std::string &script_dir, std::string *text,
                      std::string *error);
// Reads every @layout FILE of a parsed script now, so that a bad one stops the script before
// anything runs. False with "file:line:col: message" in *error.
bool load_layout_files(Script &s, const std::string &script_dir, std::string *error);

// Runs a parsed and checked script on `sys`, creating pid 1 first.
RunStatus run_script(const Script &s, System &sys, const RunOptions &opts);

// Runs statements as `reader` reads them, each checked first: a long trace needs no memory
// for the whole. Bad input stops the run with run_bad_input and "file:line:col: message" in
// *error (statements before it have run). Progress is reported in bytes of `size`.
RunStatus run_stream(ScriptReader &reader, const std::string &file, size_t size, System &sys,
                     const RunOptions &opts, std::string *error);

}  // namespace vmspace
