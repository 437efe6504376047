// Scripts and traces: one format, strace syntax (see README, "Script format").
//
//   [PID ]CALL(ARG, ...)[ = RESULT]        a call; RESULT is checked when given
//   [PID ]$NAME = CALL(...)[ = RESULT]     binds the call's value (-1 when it failed)
//   @directive ...                          @maps, @maps { ... }, @layout { ... } / FILE,
//                                           @file, @sysctl, @rlimit, @root off
//   # comment
//
// parse_script() reads the whole text first and reports the first error as
// "file:line:col: message"; nothing runs before the script parsed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vmspace/result.hpp"

namespace vmspace {

struct SrcLoc {
  int line = 0;
  int col = 0;
};

// An argument or result expression.
struct Expr {
  enum Kind : uint8_t { Num, Str, Sym, Var, Binop, Neg, Opaque } kind = Num;
  uint64_t num = 0;        // num
  std::string text;        // str (decoded), sym / var name, opaque source text
  std::string name;        // strace's named argument ("flags=..."), empty otherwise
  char op = 0;             // binop: '|', '+', '-', '<', '*', '&'
  bool truncated = false;  // str printed by strace as "..."...
  std::vector<Expr> kids;
  SrcLoc loc;
};

struct Expectation {
  enum Kind : uint8_t { None, Unchecked, Value, Error } kind = None;
  Expr value;
  Errno err = Errno::none;
  SrcLoc loc;
};

struct CallStmt {
  int pid = 0;       // 0: the default process
  std::string bind;  // $NAME, without the $
  std::string name;
  std::vector<Expr> args;
  Expectation expect;
  bool known = true;   // false: an unknown call kept because of --ignore-unknown
  std::string source;  // the line as written
};

struct Directive {
  int pid = 0;
  std::string name;                // "maps", "layout", "file", "sysctl", "rlimit", "root", ...
  std::vector<std::string> words;  // the rest of the line, split at blanks (strings decoded)
  std::vector<bool> quoted;        // which words were "quoted strings"
  bool has_block = false;
  std::vector<std::string> block;  // lines between { and }
  std::vector<SrcLoc> block_locs;
};

struct Stmt {
  enum Kind : uint8_t { Call, Dir, ExitMarker } kind = Call;
  SrcLoc loc;
  CallStmt call;
  struct Directive dir;
  int exit_pid = 0;
};

struct Script {
  std::string file;
  std::vector<Stmt> stmts;
};

struct ParseOptions {
  bool ignore_unknown = false;
};

// Is `name` a call the runner executes?
bool is_supported_call(const std::string &name);

// Parses a script. On failure returns false with "file:line:col: message" in *error.
bool parse_script(const std::string &text, const std::string &file, const ParseOptions &opts,
                  Script *out, std::string *error);

}  // namespace vmspace
