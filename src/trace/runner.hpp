// The script runner behind `vmspace run`.
#pragma once

#include <cstdio>
#include <string>

#include "trace/script.hpp"

namespace vmspace {

class System;

struct RunOptions {
  FILE *out = stdout;    // the calls with their results, as a script
  FILE *err = stderr;    // mismatches and errors
  std::string script_dir = ".";  // where @layout FILE names are looked up
};

// Exit status of a run: 0 every expectation held, 1 some did not, 2 bad input.
enum RunStatus { run_ok = 0, run_mismatch = 1, run_bad_input = 2 };

// Checks what parsing cannot (argument counts and kinds, variables bound before use).
// Returns false with "file:line:col: message" in *error.
bool check_script(const Script &s, std::string *error);

// Runs a parsed and checked script on `sys`, creating pid 1 first.
RunStatus run_script(const Script &s, System &sys, const RunOptions &opts);

}  // namespace vmspace
