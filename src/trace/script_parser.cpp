// Parser of scripts and strace output. See script.hpp for the grammar.
#include <cctype>
#include <cstring>
#include <map>

#include "trace/script.hpp"
#include "trace/symbols.hpp"

namespace vmspace {

namespace {

struct ParseError {
  SrcLoc loc;
  std::string msg;
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Scans one (logical) line.
class Lexer {
 public:
  Lexer(const std::string &s, int line, size_t start = 0) : s_(s), i_(start), line_(line) {}

  SrcLoc loc() const { return SrcLoc{line_, static_cast<int>(i_) + 1}; }
  [[noreturn]] void error(const std::string &msg) const { throw ParseError{loc(), msg}; }
  [[noreturn]] void error_at(SrcLoc l, const std::string &msg) const { throw ParseError{l, msg}; }

  // Skips blanks and /* comments */.
  void ws() {
    for (;;) {
      while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) i_++;
      if (i_ + 1 < s_.size() && s_[i_] == '/' && s_[i_ + 1] == '*') {
        size_t e = s_.find("*/", i_ + 2);
        if (e == std::string::npos) error("unterminated comment");
        i_ = e + 2;
        continue;
      }
      return;
    }
  }
  bool at_end() {
    ws();
    return i_ >= s_.size() || s_[i_] == '#';
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  char peek2() const { return i_ + 1 < s_.size() ? s_[i_ + 1] : '\0'; }
  bool eat(char c) {
    ws();
    if (peek() == c) {
      i_++;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) error(std::string("expected '") + c + "'");
  }
  std::string ident() {
    ws();
    if (!is_ident_start(peek())) error("expected a name");
    size_t b = i_;
    while (is_ident_char(peek())) i_++;
    return s_.substr(b, i_ - b);
  }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  const std::string &text() const { return s_; }

  uint64_t number() {
    SrcLoc l = loc();
    size_t b = i_;
    uint64_t v = 0;
    int base = 10;
    if (peek() == '0' && (peek2() == 'x' || peek2() == 'X')) {
      base = 16;
      i_ += 2;
    } else if (peek() == '0' && std::isdigit(static_cast<unsigned char>(peek2()))) {
      base = 8;
      i_ += 1;
    }
    size_t digits = 0;
    for (;;) {
      char c = peek();
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        break;
      if (d >= base) error_at(l, "bad digit in number");
      unsigned __int128 nv = static_cast<unsigned __int128>(v) * base + d;
      if (nv > ~0ull) error_at(l, "number out of range");
      v = static_cast<uint64_t>(nv);
      i_++;
      digits++;
    }
    if (digits == 0 && base == 16) error_at(l, "expected hex digits");
    if (is_ident_char(peek())) error_at(l, "bad number '" + s_.substr(b, i_ - b + 1) + "'");
    return v;
  }

  // A C string literal; sets *truncated when strace's "..." follows.
  std::string string_lit(bool *truncated) {
    SrcLoc l = loc();
    i_++;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) error_at(l, "unterminated string");
      char c = s_[i_++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) error_at(l, "unterminated string");
      char e = s_[i_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'e':
          out += '\x1b';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case '?':
          out += '?';
          break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && std::isxdigit(static_cast<unsigned char>(peek()))) {
            char h = s_[i_++];
            v = v * 16 + (std::isdigit(static_cast<unsigned char>(h))
                              ? h - '0'
                              : (std::tolower(h) - 'a' + 10));
            n++;
          }
          if (!n) error("bad \\x escape");
          out += static_cast<char>(v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && peek() >= '0' && peek() <= '7') {
              v = v * 8 + (s_[i_++] - '0');
              n++;
            }
            out += static_cast<char>(v);
          } else {
            error(std::string("unknown escape \\") + e);
          }
      }
    }
    *truncated = false;
    if (s_.compare(i_, 3, "...") == 0) {
      i_ += 3;
      *truncated = true;
    }
    return out;
  }

  // Skips a balanced {...} or [...] group (strings respected) and returns its text.
  std::string balanced() {
    SrcLoc l = loc();
    size_t b = i_;
    int depth = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') {
        bool t;
        string_lit(&t);
        continue;
      }
      if (c == '{' || c == '[' || c == '(') depth++;
      if (c == '}' || c == ']' || c == ')') {
        depth--;
        if (depth == 0) {
          i_++;
          return s_.substr(b, i_ - b);
        }
      }
      i_++;
    }
    error_at(l, "unbalanced brackets");
  }

 private:
  const std::string &s_;
  size_t i_;
  int line_;
};

// Expression parser: or := add ('|' add)* ; add := shift (('+'|'-') shift)* ;
// shift := unary ('<<' unary)* ; unary := '-' unary | '~' unary | primary.
class ExprParser {
 public:
  ExprParser(Lexer &lx, bool strict) : lx_(lx), strict_(strict) {}

  Expr parse() { return parse_or(); }

 private:
  Expr bin(char op, Expr a, Expr b, SrcLoc l) {
    Expr e;
    e.kind = Expr::Binop;
    e.op = op;
    e.loc = l;
    e.kids.push_back(std::move(a));
    e.kids.push_back(std::move(b));
    return e;
  }
  Expr parse_or() {
    Expr a = parse_add();
    for (;;) {
      lx_.ws();
      SrcLoc l = lx_.loc();
      if (lx_.peek() == '|' && lx_.peek2() != '|') {
        lx_.set_pos(lx_.pos() + 1);
        a = bin('|', std::move(a), parse_add(), l);
      } else if (lx_.peek() == '&' && lx_.peek2() != '&') {
        lx_.set_pos(lx_.pos() + 1);
        a = bin('&', std::move(a), parse_add(), l);
      } else {
        return a;
      }
    }
  }
  Expr parse_add() {
    Expr a = parse_shift();
    for (;;) {
      lx_.ws();
      SrcLoc l = lx_.loc();
      char c = lx_.peek();
      if (c == '+' || c == '-') {
        lx_.set_pos(lx_.pos() + 1);
        a = bin(c, std::move(a), parse_shift(), l);
      } else {
        return a;
      }
    }
  }
  Expr parse_shift() {
    Expr a = parse_unary();
    for (;;) {
      lx_.ws();
      SrcLoc l = lx_.loc();
      if (lx_.peek() == '<' && lx_.peek2() == '<') {
        lx_.set_pos(lx_.pos() + 2);
        a = bin('<', std::move(a), parse_unary(), l);
      } else if (lx_.peek() == '*') {
        lx_.set_pos(lx_.pos() + 1);
        a = bin('*', std::move(a), parse_unary(), l);
      } else {
        return a;
      }
    }
  }
  Expr parse_unary() {
    lx_.ws();
    SrcLoc l = lx_.loc();
    if (lx_.peek() == '-' || lx_.peek() == '~') {
      char c = lx_.peek();
      lx_.set_pos(lx_.pos() + 1);
      Expr e;
      e.kind = Expr::Neg;
      e.op = c;
      e.loc = l;
      e.kids.push_back(parse_unary());
      return e;
    }
    return parse_primary();
  }
  Expr parse_primary() {
    lx_.ws();
    Expr e;
    e.loc = lx_.loc();
    char c = lx_.peek();
    if (std::isdigit(static_cast<unsigned char>(c))) {
      e.kind = Expr::Num;
      e.num = lx_.number();
      return e;
    }
    if (c == '"') {
      e.kind = Expr::Str;
      e.text = lx_.string_lit(&e.truncated);
      return e;
    }
    if (c == '$') {
      lx_.set_pos(lx_.pos() + 1);
      if (!is_ident_start(lx_.peek())) lx_.error("expected a variable name after '$'");
      e.kind = Expr::Var;
      e.text = lx_.ident();
      return e;
    }
    if (c == '(') {
      lx_.set_pos(lx_.pos() + 1);
      Expr inner = parse_or();
      lx_.expect(')');
      return inner;
    }
    if (c == '{' || c == '[') {
      e.kind = Expr::Opaque;
      e.text = lx_.balanced();
      return e;
    }
    if (is_ident_start(c)) {
      // strace's named arguments: "flags=CLONE_VM|SIGCHLD".
      size_t save = lx_.pos();
      std::string id = lx_.ident();
      if (lx_.peek() == '=' && lx_.peek2() != '=') {
        lx_.set_pos(lx_.pos() + 1);
        Expr v = parse_or();
        v.name = id;
        return v;
      }
      lx_.set_pos(save);
      e.kind = Expr::Sym;
      e.text = lx_.ident();
      if (strict_ && !constant_value(e.text))
        lx_.error_at(e.loc, "unknown constant '" + e.text + "'");
      return e;
    }
    if (c == '\0') lx_.error("unexpected end of line");
    lx_.error(std::string("unexpected '") + c + "'");
  }

  Lexer &lx_;
  bool strict_;
};

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Splits a directive's words at blanks; "quoted strings" are decoded.
std::vector<std::string> split_words(const std::string &line, size_t from, int lineno,
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
    out.push_back(line.substr(b, lx.pos() - b));
    quoted->push_back(false);
  }
  return out;
}

// Strips "[pid N] ", "N " and strace time stamps from the start of a line.
size_t strip_prefix(const std::string &s, int *pid) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
  if (s.compare(i, 5, "[pid ") == 0) {
    size_t j = i + 5;
    while (j < s.size() && s[j] == ' ') j++;
    size_t b = j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) j++;
    if (j > b && j < s.size() && s[j] == ']') {
      *pid = std::stoi(s.substr(b, j - b));
      i = j + 1;
      while (i < s.size() && s[i] == ' ') i++;
    }
  } else if (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) j++;
    if (j < s.size() && (s[j] == ' ' || s[j] == '\t') && j - i < 10) {
      *pid = std::stoi(s.substr(i, j - i));
      i = j;
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
    }
  }
  // Time stamps: HH:MM:SS[.frac] or SECONDS.frac (strace -t, -tt, -ttt, -r).
  size_t j = i;
  while (j < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ':' || s[j] == '.'))
    j++;
  if (j > i && j < s.size() && s[j] == ' ') {
    std::string ts = s.substr(i, j - i);
    if (ts.find(':') != std::string::npos || ts.find('.') != std::string::npos) {
      i = j;
      while (i < s.size() && s[i] == ' ') i++;
    }
  }
  return i;
}

bool is_errno_name(const std::string &s) {
  return s.size() > 1 && s[0] == 'E' && errno_from_name(s) != Errno::none;
}

class ScriptParser {
 public:
  ScriptParser(const std::string &text, const ParseOptions &opts) : opts_(opts) {
    size_t b = 0;
    while (b <= text.size()) {
      size_t e = text.find('\n', b);
      if (e == std::string::npos) {
        if (b < text.size()) lines_.push_back(text.substr(b));
        break;
      }
      lines_.push_back(text.substr(b, e - b));
      b = e + 1;
    }
    for (auto &l : lines_)
      if (!l.empty() && l.back() == '\r') l.pop_back();
  }

  void run(Script *out) {
    for (size_t n = 0; n < lines_.size(); n++) {
      int lineno = static_cast<int>(n) + 1;
      const std::string &line = lines_[n];
      int pid = 0;
      size_t i = strip_prefix(line, &pid);
      if (i >= line.size() || line[i] == '#') continue;
      std::string rest = line.substr(i);
      if (rest.compare(0, 3, "---") == 0) continue;      // signal delivery
      if (rest.compare(0, 7, "strace:") == 0) continue;  // strace's own messages
      if (rest.compare(0, 3, "+++") == 0) {              // process exit
        Stmt st;
        st.kind = Stmt::ExitMarker;
        st.loc = SrcLoc{lineno, static_cast<int>(i) + 1};
        st.exit_pid = pid;
        out->stmts.push_back(std::move(st));
        continue;
      }
      if (rest[0] == '@') {
        n = directive(line, i, pid, n, out);
        continue;
      }
      // strace -f splits calls interrupted by another process's output.
      const std::string unfinished = "<unfinished ...>";
      if (rest.size() >= unfinished.size() &&
          rest.compare(rest.size() - unfinished.size(), unfinished.size(), unfinished) == 0) {
        Pending pd{line.substr(0, line.size() - unfinished.size()), i, lineno, -1};
        // A fork whose result comes later: its child's calls may come first, so the call
        // keeps this place in the script.
        for (const char *f : {"fork(", "vfork(", "clone(", "clone3("})
          if (rest.compare(0, std::strlen(f), f) == 0) {
            Stmt hold;
            hold.kind = Stmt::Call;
            hold.loc = SrcLoc{lineno, static_cast<int>(i) + 1};
            hold.call.pid = pid;
            hold.call.known = false;
            hold.call.source = "# " + rest;
            pd.slot = static_cast<long>(out->stmts.size());
            out->stmts.push_back(std::move(hold));
          }
        pending_[pid] = pd;
        continue;
      }
      if (rest.compare(0, 5, "<... ") == 0) {
        size_t close = rest.find("resumed>");
        if (close == std::string::npos)
          throw ParseError{{lineno, static_cast<int>(i) + 1}, "bad resumed line"};
        auto it = pending_.find(pid);
        if (it == pending_.end())
          throw ParseError{{lineno, static_cast<int>(i) + 1},
                           "resumed call without an unfinished start"};
        std::string joined = it->second.text + rest.substr(close + 8);
        size_t start = it->second.start;
        const long slot = it->second.slot;
        pending_.erase(it);
        call(joined, start, pid, lineno, out);
        if (slot >= 0) {
          out->stmts[static_cast<size_t>(slot)] = std::move(out->stmts.back());
          out->stmts.pop_back();
        }
        continue;
      }
      call(line, i, pid, lineno, out);
    }
  }

 private:
  struct Pending {
    std::string text;
    size_t start;
    int line;
    long slot;  // the statement kept in place for a fork-like call, or -1
  };

  size_t directive(const std::string &line, size_t i, int pid, size_t n, Script *out) {
    int lineno = static_cast<int>(n) + 1;
    Lexer lx(line, lineno, i + 1);
    Stmt st;
    st.kind = Stmt::Dir;
    st.loc = SrcLoc{lineno, static_cast<int>(i) + 1};
    st.dir.pid = pid;
    st.dir.name = lx.ident();
    st.dir.words = split_words(line, lx.pos(), lineno, &st.dir.quoted);
    if (!st.dir.words.empty() && st.dir.words.back() == "{" && !st.dir.quoted.back()) {
      st.dir.words.pop_back();
      st.dir.quoted.pop_back();
      st.dir.has_block = true;
      size_t m = n + 1;
      for (; m < lines_.size(); m++) {
        if (trim(lines_[m]) == "}") break;
        st.dir.block.push_back(lines_[m]);
        st.dir.block_locs.push_back(SrcLoc{static_cast<int>(m) + 1, 1});
      }
      if (m == lines_.size()) throw ParseError{st.loc, "'{' without a closing '}'"};
      n = m;
    }
    check_directive(st);
    out->stmts.push_back(std::move(st));
    return n;
  }

  void check_directive(const Stmt &st) {
    const Directive &d = st.dir;
    auto need = [&](bool ok, const std::string &msg) {
      if (!ok) throw ParseError{st.loc, "@" + d.name + ": " + msg};
    };
    if (d.name == "maps" || d.name == "status" || d.name == "smaps" || d.name == "vmas") {
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
    } else if (d.name == "touch") {
      const bool access = d.words.size() >= 3 && (d.words[2] == "read" || d.words[2] == "write");
      const bool signal =
          d.words.size() == 5 && (d.words[3] == "SIGSEGV" || d.words[3] == "SIGBUS");
      need(d.words.size() == 2 || (d.words.size() == 3 && access) || (access && signal),
           "expected ADDR LEN [read|write [SIGSEGV|SIGBUS SI_CODE]]");
    } else if (d.name == "hostfile") {
      need(d.words.size() == 6, "expected \"PATH\" SIZE MODE MAJOR:MINOR INODE \"SHOWN\"");
    } else if (d.name == "hostdata") {
      need(d.words.size() == 3, "expected \"PATH\" OFFSET HEXBYTES");
    } else if (d.name == "fd") {
      need(d.words.size() == 1 || (d.words.size() == 2 && d.words[1] == "cloexec"),
           "expected a descriptor number [cloexec]");
    } else if (d.name == "root") {
      need(d.words.size() == 1 && (d.words[0] == "off" || d.words[0] == "on"), "expected 'off'");
    } else {
      throw ParseError{st.loc, "unknown directive @" + d.name};
    }
  }

  void call(const std::string &line, size_t i, int pid, int lineno, Script *out) {
    Lexer lx(line, lineno, i);
    Stmt st;
    st.kind = Stmt::Call;
    st.loc = lx.loc();
    CallStmt &c = st.call;
    c.pid = pid;
    c.source = line.substr(i);
    lx.ws();
    if (lx.peek() == '$') {
      lx.set_pos(lx.pos() + 1);
      c.bind = lx.ident();
      lx.expect('=');
    }
    lx.ws();
    SrcLoc name_loc = lx.loc();
    c.name = lx.ident();
    c.known = is_supported_call(c.name);
    if (!c.known && !opts_.ignore_unknown)
      throw ParseError{name_loc, "unknown call '" + c.name + "' (use --ignore-unknown to skip it)"};
    lx.expect('(');
    if (c.known) {
      ExprParser ep(lx, true);
      if (!lx.eat(')')) {
        for (;;) {
          c.args.push_back(ep.parse());
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
        c.expect.value = ep.parse();
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
    out->stmts.push_back(std::move(st));
  }

  ParseOptions opts_;
  std::vector<std::string> lines_;
  std::map<int, Pending> pending_;
};

}  // namespace

bool parse_script(const std::string &text, const std::string &file, const ParseOptions &opts,
                  Script *out, std::string *error) {
  out->file = file;
  out->stmts.clear();
  try {
    ScriptParser p(text, opts);
    p.run(out);
  } catch (const ParseError &e) {
    *error =
        file + ":" + std::to_string(e.loc.line) + ":" + std::to_string(e.loc.col) + ": " + e.msg;
    out->stmts.clear();
    return false;
  }
  return true;
}

}  // namespace vmspace
