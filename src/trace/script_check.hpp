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
