// Parser of scripts and strace output. See script.hpp for the grammar.
#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <string_view>

#include "trace/calls.hpp"
#include "trace/script.hpp"
#include "trace/script_lexer.hpp"
#include "trace/symbols.hpp"

namespace vmspace {

namespace {

using namespace script_lex;  // NOLINT: the parser is this file's and the lexer's alone

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Splits a directive's words at blanks; "quoted strings" are decoded.
std::vector<std::string> split_words(std::string_view line, size_t from, int lineno,
                                     std::vector<bool> *quoted) {
  std::vector<std::string> out;
  Lexer lx(line, lineno, from);
  for (;;) {
    if (lx.at_end()) break;
    if (lx.peek() == '"') {
      bool t;
      out.push_back(lx.string_lit(&t));
      quoted->push_back(true);
      continue;
    }
    size_t b = lx.pos();
    while (lx.peek() && lx.peek() != ' ' && lx.peek() != '\t') lx.set_pos(lx.pos() + 1);
    out.emplace_back(line.substr(b, lx.pos() - b));
    quoted->push_back(false);
  }
  return out;
}

// A pid of at most 9 digits.
int small_int(std::string_view d) {
  int v = 0;
  for (char c : d) v = v * 10 + (c - '0');
  return v;
}

// Strips "[pid N] ", "N " and strace time stamps from the start of a line.
size_t strip_prefix(std::string_view s, int *pid) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i < s.size() && s[i] == '[' && s.compare(i, 5, "[pid ") == 0) {
    size_t j = i + 5;
    while (j < s.size() && s[j] == ' ') j++;
    size_t b = j;
    while (j < s.size() && is_digit(s[j])) j++;
    if (j > b && j - b < 10 && j < s.size() && s[j] == ']') {
      *pid = small_int(s.substr(b, j - b));
      i = j + 1;
      while (i < s.size() && s[i] == ' ') i++;
    }
  } else if (i < s.size() && is_digit(s[i])) {
    size_t j = i;
    while (j < s.size() && is_digit(s[j])) j++;
    if (j < s.size() && (s[j] == ' ' || s[j] == '\t') && j - i < 10) {
      *pid = small_int(s.substr(i, j - i));
      i = j;
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
    }
  }
  // Time stamps: HH:MM:SS[.frac] or SECONDS.frac (strace -t, -tt, -ttt, -r).
  size_t j = i;
  while (j < s.size() && (is_digit(s[j]) || s[j] == ':' || s[j] == '.')) j++;
  if (j > i && j < s.size() && s[j] == ' ') {
    std::string_view ts = s.substr(i, j - i);
    if (ts.find(':') != std::string_view::npos || ts.find('.') != std::string_view::npos) {
      i = j;
      while (i < s.size() && s[i] == ' ') i++;
    }
  }
  return i;
}

// The longest line a script may have (strace prints execve's environment on one line; a
// line of @hostdata holds program headers in hex).
constexpr size_t kMaxLine = 16u << 20;
// The most statements that wait behind a fork strace printed as unfinished, and the most
// calls unfinished at once.
constexpr size_t kMaxHeld = 100000;

bool is_errno_name(const std::string &s) {
  return s.size() > 1 && s[0] == 'E' && errno_from_name(s) != Errno::none;
}

class Reader {
 public:
  Reader(std::string_view text, const ParseOptions &opts) : text_(text), opts_(opts) {}

  // The next statement in script order; false at the end. Throws ParseError.
  bool next(Stmt *out) {
    for (;;) {
      if (queue_.empty()) {
        // Nothing waits: the next statement is read straight into *out, whose buffers are
        // reused from the statement it held before.
        direct_ = out;
        delivered_ = false;
        std::string_view line;
        if (!next_line(&line)) return false;
        parse_line(line);
        direct_ = nullptr;
        if (delivered_) return true;
        continue;
      }
      if (!queue_.front().second) {
        *out = std::move(queue_.front().first);
        queue_.pop_front();
        base_++;
        return true;
      }
      std::string_view line;
      // A fork that never resumes (before the end, or while the statements held behind it
      // grow past a bound) stays the comment it was held as.
      if (queue_.size() > kMaxHeld || !next_line(&line)) {
        if (queue_.empty()) return false;
        // (Its result, if it comes, is a call of its own then.)
        for (auto &[p, pd] : pending_)
          if (pd.slot == static_cast<long>(base_)) pd.slot = -1;
        queue_.front().second = false;
        continue;
      }
      parse_line(line);
    }
  }
  size_t offset() const { return pos_; }

 private:
  struct Pending {
    std::string text;
    size_t start;
    long slot;  // the statement number kept in place for a fork-like call, or -1
  };

  bool next_line(std::string_view *line) {
    if (pos_ >= text_.size()) return false;
    size_t e = text_.find('\n', pos_);
    if (e == std::string_view::npos) e = text_.size();
    *line = text_.substr(pos_, e - pos_);
    pos_ = e + 1;
    lineno_++;
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    // Scripts and traces are text: a NUL byte anywhere is bad input.
    const size_t nul = line->find('\0');
    if (nul != std::string_view::npos)
      throw ParseError{SrcLoc{lineno_, static_cast<int>(nul) + 1},
                       "a NUL byte: scripts and traces are text"};
    if (line->size() > kMaxLine)
      throw ParseError{SrcLoc{lineno_, 1},
                       "line longer than " + std::to_string(kMaxLine) + " bytes"};
    return true;
  }

  void push(Stmt &&st, bool hole = false) { queue_.emplace_back(std::move(st), hole); }

  // Where the statement being read goes: *direct_ when nothing waits before it.
  Stmt &begin() {
    if (direct_ && queue_.empty() && !delivered_) {
      delivered_ = true;
      reset(*direct_);
      return *direct_;
    }
    queue_.emplace_back(Stmt{}, false);
    return queue_.back().first;
  }
  static void reset(Expr &e) {
    e.kind = Expr::Num;
    e.num = 0;
    e.text.clear();
    e.name.clear();
    e.op = 0;
    e.truncated = false;
    e.kids.clear();
    e.loc = {};
  }
  static void reset(Stmt &s) {
    s.kind = Stmt::Call;
    s.loc = {};
    s.exit_pid = 0;
    CallStmt &c = s.call;
    c.pid = 0;
    c.bind.clear();
    c.name.clear();
    c.def = nullptr;
    c.args.clear();
    c.expect.kind = Expectation::None;
    reset(c.expect.value);
    c.expect.err = Errno::none;
    c.expect.loc = {};
    c.known = true;
    c.source.clear();
    Directive &d = s.dir;
    d.pid = 0;
    d.name.clear();
    d.words.clear();
    d.quoted.clear();
    d.has_block = false;
    d.block.clear();
    d.block_locs.clear();
    d.file_loaded = false;
    d.file_text.clear();
  }

  void parse_line(std::string_view line) {
    const int lineno = lineno_;
    int pid = 0;
    size_t i = strip_prefix(line, &pid);
    if (i >= line.size() || line[i] == '#') return;
    std::string_view rest = line.substr(i);
    const char first = rest[0];
    if (first == '-' && rest.compare(0, 3, "---") == 0) return;      // signal delivery
    if (first == 's' && rest.compare(0, 7, "strace:") == 0) return;  // strace's own messages
    if (first == '+' && rest.compare(0, 3, "+++") == 0) {            // process exit
      Stmt &st = begin();
      st.kind = Stmt::ExitMarker;
      st.loc = SrcLoc{lineno, static_cast<int>(i) + 1};
      st.exit_pid = pid;
      return;
    }
    if (rest[0] == '@') {
      directive(line, i, pid);
      return;
    }
    // strace -f splits calls interrupted by another process's output.
    constexpr std::string_view unfinished = "<unfinished ...>";
    if (rest.back() == '>' && rest.size() >= unfinished.size() &&
        rest.compare(rest.size() - unfinished.size(), unfinished.size(), unfinished) == 0) {
      Pending pd{std::string(line.substr(0, line.size() - unfinished.size())), i, -1};
      // A fork whose result comes later: its child's calls may come first, so the call
      // keeps this place in the script.
      for (std::string_view f : {"fork(", "vfork(", "clone(", "clone3("})
        if (rest.compare(0, f.size(), f) == 0) {
          Stmt hold;
          hold.kind = Stmt::Call;
          hold.loc = SrcLoc{lineno, static_cast<int>(i) + 1};
          hold.call.pid = pid;
          hold.call.known = false;
          hold.call.source = "# " + std::string(rest);
          pd.slot = static_cast<long>(base_ + queue_.size());
          push(std::move(hold), true);
        }
      if (pending_.size() >= kMaxHeld && !pending_.count(pid))
        throw ParseError{{lineno, static_cast<int>(i) + 1},
                         "more than " + std::to_string(kMaxHeld) + " calls unfinished at once"};
      pending_[pid] = std::move(pd);
      return;
    }
    if (first == '<' && rest.compare(0, 5, "<... ") == 0) {
      size_t close = rest.find("resumed>");
      if (close == std::string_view::npos)
        throw ParseError{{lineno, static_cast<int>(i) + 1}, "bad resumed line"};
      auto it = pending_.find(pid);
      if (it == pending_.end())
        throw ParseError{{lineno, static_cast<int>(i) + 1},
                         "resumed call without an unfinished start"};
      std::string joined = it->second.text;
      joined += rest.substr(close + 8);
      const size_t start = it->second.start;
      const long slot = it->second.slot;
      pending_.erase(it);
      call(joined, start, pid, lineno);
      if (slot >= 0) {
        auto &held = queue_[static_cast<size_t>(slot) - base_];
        held.first = std::move(queue_.back().first);
        held.second = false;
        queue_.pop_back();
      }
      return;
    }
    call(line, i, pid, lineno);
  }

  void directive(std::string_view line, size_t i, int pid) {
    const int lineno = lineno_;
    Lexer lx(line, lineno, i + 1);
    Stmt &st = begin();
    st.kind = Stmt::Dir;
    st.loc = SrcLoc{lineno, static_cast<int>(i) + 1};
    st.dir.pid = pid;
    st.dir.name = lx.ident();
    st.dir.words = split_words(line, lx.pos(), lineno, &st.dir.quoted);
    if (!st.dir.words.empty() && st.dir.words.back() == "{" && !st.dir.quoted.back()) {
      st.dir.words.pop_back();
      st.dir.quoted.pop_back();
      st.dir.has_block = true;
      std::string_view l;
      for (;;) {
        if (!next_line(&l)) throw ParseError{st.loc, "'{' without a closing '}'"};
        if (trim(l) == "}") break;
        st.dir.block.emplace_back(l);
        st.dir.block_locs.push_back(SrcLoc{lineno_, 1});
      }
    }
    check_directive(st);
  }

  void check_directive(const Stmt &st) {
    const Directive &d = st.dir;
    auto need = [&](bool ok, const std::string &msg) {
      if (!ok) throw ParseError{st.loc, "@" + d.name + ": " + msg};
    };
    if (d.name == "smaps") {
      need(d.words.size() == 1, "expected ADDR");
    } else if (d.name == "smaps_rollup") {
      need(d.words.empty(), "expected no operand");
    } else if (d.name == "maps" || d.name == "status" || d.name == "vmas") {
      need(d.words.size() <= 1, "expected at most a pid");
    } else if (d.name == "layout") {
      need(d.has_block ? d.words.empty() : d.words.size() == 1,
           "expected a file name or a { block }");
    } else if (d.name == "file") {
      need(d.words.size() == 2 || d.words.size() == 3, "expected PATH SIZE or PATH \"content\"");
    } else if (d.name == "sysctl") {
      need(d.words.size() == 2, "expected NAME VALUE");
    } else if (d.name == "rlimit") {
      need(d.words.size() == 2 || d.words.size() == 3, "expected RLIMIT_NAME SOFT [HARD]");
    } else if (d.name == "touch" || d.name == "poke" || d.name == "peek" || d.name == "fill") {
      // Operands, then an optional "= RESULT": 0, "BYTES" (peek), or SIGNAL CODE 0xADDR.
      size_t eq = d.words.size();
      for (size_t k = 0; k < d.words.size(); k++)
        if (d.words[k] == "=" && !d.quoted[k]) {
          eq = k;
          break;
        }
      const size_t nres = eq < d.words.size() ? d.words.size() - eq - 1 : 0;
      const bool result_ok =
          eq == d.words.size() || nres == 1 ||
          (nres == 3 && (d.words[eq + 1] == "SIGSEGV" || d.words[eq + 1] == "SIGBUS" ||
                         d.words[eq + 1] == "SIGKILL"));
      need(result_ok, "expected '= 0', '= \"BYTES\"' or '= SIGNAL CODE 0xADDR' after the operands");
      if (d.name == "touch") {
        const bool access =
            eq >= 3 && (d.words[2] == "read" || d.words[2] == "write" || d.words[2] == "exec");
        const bool legacy = eq == d.words.size() && d.words.size() == 5 && access &&
                            (d.words[3] == "SIGSEGV" || d.words[3] == "SIGBUS");
        need(eq == 2 || (eq == 3 && access) || legacy,
             "expected ADDR LEN [read|write|exec] [= RESULT]");
      } else if (d.name == "poke") {
        need(eq == 2 && d.quoted.size() > 1 && d.quoted[1] && !d.quoted[0],
             "expected ADDR \"BYTES\" [= RESULT]");
      } else if (d.name == "peek") {
        need(eq == 2 && !d.quoted[0] && !d.quoted[1], "expected ADDR LEN [= RESULT]");
      } else {
        need(eq == 3 && !d.quoted[0] && !d.quoted[1] && !d.quoted[2],
             "expected ADDR LEN BYTE [= RESULT]");
      }
    } else if (d.name == "hostfile") {
      // A symbolic link has its "TARGET" after SHOWN; keywords follow (checked with the
      // values by ScriptChecker).
      const size_t n = d.words.size();
      bool ok = n >= 6 && n <= 10;
      for (size_t k = 6; ok && k < n; k++) ok = !d.quoted[k] || k == 6;
      need(ok,
           "expected \"PATH\" SIZE MODE MAJOR:MINOR INODE \"SHOWN\" [\"TARGET\"] [existing] "
           "[rdev=MAJ:MIN] [open=ERRNO]");
    } else if (d.name == "hostdata") {
      need(d.words.size() == 3, "expected \"PATH\" OFFSET HEXBYTES");
    } else if (d.name == "fd") {
      need(d.words.size() == 1 || (d.words.size() == 2 && d.words[1] == "cloexec"),
           "expected a descriptor number [cloexec]");
    } else if (d.name == "fdsize") {
      need(d.words.size() == 2, "expected FD SIZE");
    } else if (d.name == "cwd") {
      need(d.words.size() == 1 && !d.words[0].empty() && d.words[0][0] == '/',
           "expected an absolute directory");
    } else if (d.name == "cred") {
      need(d.words.size() == 2, "expected EUID CAPEFF (the effective uid, the CapEff bits)");
    } else if (d.name == "root") {
      need(d.words.size() == 1 && (d.words[0] == "off" || d.words[0] == "on"), "expected 'off'");
    } else {
      throw ParseError{st.loc, "unknown directive @" + d.name};
    }
  }

  void call(std::string_view line, size_t i, int pid, int lineno) {
    Lexer lx(line, lineno, i);
    Stmt &st = begin();
    st.kind = Stmt::Call;
    st.loc = lx.loc();
    CallStmt &c = st.call;
    c.pid = pid;
    lx.ws();
    if (lx.peek() == '$') {
      lx.set_pos(lx.pos() + 1);
      c.bind = lx.ident();
      lx.expect('=');
    }
    lx.ws();
    SrcLoc name_loc = lx.loc();
    c.name = lx.ident();
    c.def = find_call(c.name);
    c.known = c.def != nullptr;
    if (!c.known) {
      if (!opts_.ignore_unknown)
        throw ParseError{name_loc,
                         "unknown call '" + c.name + "' (use --ignore-unknown to skip it)"};
      c.source = std::string(line.substr(i));  // what placeholders are made from
    }
    lx.expect('(');
    if (c.known) {
      ExprParser ep(lx, true);
      if (!lx.eat(')')) {
        for (;;) {
          c.args.emplace_back();
          ep.parse_into(c.args.back());
          lx.ws();
          if (lx.peek() == '=' && lx.peek2() == '>') {
            // strace shows what the kernel wrote back: "{...} => {...}".
            lx.set_pos(lx.pos() + 2);
            lx.ws();
            lx.balanced();
          }
          if (lx.eat(')')) break;
          lx.expect(',');
        }
      }
    } else {
      // Unknown calls: only the shape matters.
      lx.set_pos(lx.pos() - 1);
      lx.balanced();
    }
    if (!lx.at_end()) {
      lx.expect('=');
      c.expect.loc = lx.loc();
      lx.ws();
      if (lx.peek() == '?') {
        c.expect.kind = Expectation::Unchecked;
      } else {
        ExprParser ep(lx, c.known);
        c.expect.kind = Expectation::Value;
        ep.parse_into(c.expect.value);
        lx.ws();
        if (is_ident_start(lx.peek())) {
          SrcLoc el = lx.loc();
          std::string name = lx.ident();
          if (!is_errno_name(name)) {
            if (c.known) throw ParseError{el, "unknown error name '" + name + "'"};
          } else {
            c.expect.kind = Expectation::Error;
            c.expect.err = errno_from_name(name);
          }
        }
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  int lineno_ = 0;
  ParseOptions opts_;
  // Statements read but not handed out: a held fork (second = true) keeps the ones after it.
  std::deque<std::pair<Stmt, bool>> queue_;
  size_t base_ = 0;  // the number of the statement at queue_.front()
  std::map<int, Pending> pending_;
  Stmt *direct_ = nullptr;  // where next() wants the statement, when nothing waits
  bool delivered_ = false;
};

std::string located(const std::string &file, SrcLoc l, const std::string &msg) {
  return file + ":" + std::to_string(l.line) + ":" + std::to_string(l.col) + ": " + msg;
}

}  // namespace

uint64_t binop_value(char op, uint64_t a, uint64_t b) {
  switch (op) {
    case '|':
      return a | b;
    case '&':
      return a & b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '<':
      return b >= 64 ? 0 : a << b;
  }
  return 0;
}

bool parse_expression(std::string_view text, Expr *out) {
  try {
    Lexer lx(text, 1);
    ExprParser ep(lx, true);
    *out = ep.parse();
    return lx.at_end();
  } catch (const ParseError &) {
    return false;
  }
}

struct ScriptReader::Impl {
  Impl(std::string_view text, const ParseOptions &opts) : reader(text, opts) {}
  Reader reader;
  std::string file;
  std::string error;
};

ScriptReader::ScriptReader(std::string_view text, const std::string &file, const ParseOptions &opts)
    : impl_(std::make_unique<Impl>(text, opts)) {
  impl_->file = file;
}

ScriptReader::~ScriptReader() = default;

bool ScriptReader::next(Stmt *out) {
  if (!impl_->error.empty()) return false;
  try {
    return impl_->reader.next(out);
  } catch (const ParseError &e) {
    impl_->error = located(impl_->file, e.loc, e.msg);
    return false;
  }
}

const std::string &ScriptReader::error() const { return impl_->error; }
size_t ScriptReader::offset() const { return impl_->reader.offset(); }

bool parse_script(const std::string &text, const std::string &file, const ParseOptions &opts,
                  Script *out, std::string *error) {
  out->file = file;
  out->stmts.clear();
  ScriptReader r(text, file, opts);
  Stmt st;
  while (r.next(&st)) out->stmts.push_back(std::move(st));
  if (!r.error().empty()) {
    *error = r.error();
    out->stmts.clear();
    return false;
  }
  return true;
}

}  // namespace vmspace
