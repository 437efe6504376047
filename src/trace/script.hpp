// Scripts and traces: one format, strace syntax (see README, "Script format").
//
//   [PID ]CALL(ARG, ...)[ = RESULT]        a call; RESULT is checked when given
//   [PID ]$NAME = CALL(...)[ = RESULT]     binds the call's value (-1 when it failed)
//   @directive ...                          @maps, @maps { ... }, @layout { ... } / FILE,
//                                           @file, @sysctl, @rlimit, @root off
//   # comment
//
// parse_script() reads the whole text first and reports the first error as
// "file:line:col: message"; nothing runs before the script parsed. ScriptReader hands out
// the statements of a long trace one at a time, so a replay needs no memory for the whole.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmspace/result.hpp"

namespace vmspace {

struct CallDef;

struct SrcLoc {
  int line = 0;
  int col = 0;
};

// An argument or result expression. Constant parts are folded when parsed: "PROT_READ|4"
// is the number 5.
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
  const CallDef *def = nullptr;  // the call's definition; null for unknown calls
  std::vector<Expr> args;
  Expectation expect;
  bool known = true;   // false: an unknown call kept because of --ignore-unknown
  std::string source;  // an unknown call: the line as written
};

struct Directive {
  int pid = 0;
  std::string name;                // "maps", "layout", "file", "sysctl", "rlimit", "root", ...
  std::vector<std::string> words;  // the rest of the line, split at blanks (strings decoded)
  std::vector<bool> quoted;        // which words were "quoted strings"
  bool has_block = false;
  std::vector<std::string> block;  // lines between { and }
  std::vector<SrcLoc> block_locs;
  // @layout FILE read before the script ran (load_layout_files).
  bool file_loaded = false;
  std::string file_text;
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

// Reads statements in script order from `text` (which must outlive the reader). A fork strace
// printed as "<unfinished ...>" keeps its place: the statements after it wait until it resumes.
class ScriptReader {
 public:
  ScriptReader(std::string_view text, const std::string &file, const ParseOptions &opts);
  ~ScriptReader();
  // The next statement; false at the end or on bad input (then error() says where and why).
  bool next(Stmt *out);
  // "file:line:col: message" after next() met bad input; empty otherwise.
  const std::string &error() const;
  // How many bytes of the text were read.
  size_t offset() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// a OP b for the operators of expressions ('|', '&', '+', '-', '*', '<' for <<).
uint64_t binop_value(char op, uint64_t a, uint64_t b);

// `text` as one numeric expression (numbers, constants, $variables, + - | & << ~); false when
// it is not exactly one.
bool parse_expression(std::string_view text, Expr *out);

// Parses a script. On failure returns false with "file:line:col: message" in *error.
bool parse_script(const std::string &text, const std::string &file, const ParseOptions &opts,
                  Script *out, std::string *error);

}  // namespace vmspace
