// Checking and evaluating parsed statements: what the runner and its callers share.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "trace/calls.hpp"
#include "trace/script.hpp"

namespace vmspace {

// "file:line:col".
inline std::string where(const std::string &file, SrcLoc l) {
  return file + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
}

// The $variables an expression uses.
void collect_vars(const Expr &e, std::vector<const Expr *> &out);
// Is the expression a number (no string, no strace array)?
bool numeric(const Expr &e);

// The arguments of @sysctl, @rlimit and @file, read from a directive: the checker calls
// these before anything runs, the runner again to act. False with a message in *error.
struct SysctlSetting {
  std::string name;  // "vm.max_map_count", ...
  uint64_t value = 0;
};
bool read_sysctl(const Directive &d, SysctlSetting *out, std::string *error);
struct RlimitSetting {
  int resource = 0;
  uint64_t soft = 0, hard = 0;
  bool has_hard = false;
};
bool read_rlimit(const Directive &d, RlimitSetting *out, std::string *error);
struct FileSetting {
  std::string path;
  const std::string *content = nullptr;  // the directive's "content", or null: SIZE zero bytes
  uint64_t size = 0;
  uint32_t mode = 0666;
};
bool read_file_setting(const Directive &d, FileSetting *out, std::string *error);
// A number of a directive: decimal, 0x hex, 0 octal, or RLIM_INFINITY / unlimited.
bool directive_number(const std::string &w, uint64_t *v);

// The most distinct $names a script may bind (each costs the runner memory).
inline constexpr size_t kMaxVariables = 1000000;

// What parsing cannot check, one statement at a time: argument counts and kinds, variables
// bound before use.
class ScriptChecker {
 public:
  explicit ScriptChecker(const std::string &file) : file_(file) {}
  // False with "file:line:col: message" in *error.
  bool check(const Stmt &st, std::string *error);

 private:
  const std::string &file_;
  std::set<std::string> bound;
};

}  // namespace vmspace
