// Parser of scripts and strace output. See script.hpp for the grammar.
#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <string_view>

#include "trace/calls.hpp"
#include "trace/script.hpp"
#include "trace/symbols.hpp"

namespace vmspace {

namespace {

struct ParseError {
  SrcLoc loc;
  std::string msg;
};

// ASCII only, without the locale lookups of <cctype>: the lexer runs on every byte of a trace.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

// Scans one (logical) line.
class Lexer {
 public:
  Lexer(std::string_view s, int line, size_t start = 0) : s_(s), i_(start), line_(line) {}

  SrcLoc loc() const { return SrcLoc{line_, static_cast<int>(i_) + 1}; }
  [[noreturn]] void error(const std::string &msg) const { throw ParseError{loc(), msg}; }
  [[noreturn]] void error_at(SrcLoc l, const std::string &msg) const { throw ParseError{l, msg}; }

  // Skips blanks and /* comments */.
  void ws() {
    if (i_ < s_.size() && s_[i_] != ' ' && s_[i_] != '\t' && s_[i_] != '/') return;
    ws_slow();
  }
  __attribute__((noinline)) void ws_slow() {
    for (;;) {
      // Traces pad results to a column: eight blanks at a time first.
      while (i_ + 8 <= s_.size()) {
        uint64_t w;
        std::memcpy(&w, s_.data() + i_, 8);
        if (w != 0x2020202020202020ull) break;
        i_ += 8;
      }
      while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) i_++;
      if (i_ + 1 < s_.size() && s_[i_] == '/' && s_[i_ + 1] == '*') {
        size_t e = s_.find("*/", i_ + 2);
        if (e == std::string_view::npos) error("unterminated comment");
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
    return std::string(s_.substr(b, i_ - b));
  }
  size_t pos() const { return i_; }
  size_t size() const { return s_.size(); }
  char at(size_t k) const { return s_[k]; }
  std::string_view view(size_t b, size_t n) const { return s_.substr(b, n); }
  void set_pos(size_t p) { i_ = p; }

  uint64_t number() {
    SrcLoc l = loc();
    size_t b = i_;
    uint64_t v = 0;
    int base = 10;
    if (peek() == '0' && (peek2() == 'x' || peek2() == 'X')) {
      base = 16;
      i_ += 2;
    } else if (peek() == '0' && is_digit(peek2())) {
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
      if (__builtin_mul_overflow(v, static_cast<uint64_t>(base), &v) ||
          __builtin_add_overflow(v, static_cast<uint64_t>(d), &v))
        error_at(l, "number out of range");
      i_++;
      digits++;
    }
    if (digits == 0 && base == 16) error_at(l, "expected hex digits");
    if (is_ident_char(peek()))
      error_at(l, "bad number '" + std::string(s_.substr(b, i_ - b + 1)) + "'");
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
            v = v * 16 + (is_digit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
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
          return std::string(s_.substr(b, i_ - b));
        }
      }
      i_++;
    }
    error_at(l, "unbalanced brackets");
  }

 private:
  std::string_view s_;
  size_t i_;
  int line_;
};

// Expression parser: or := add ('|' add)* ; add := shift (('+'|'-') shift)* ;
// shift := unary ('<<' unary)* ; unary := '-' unary | '~' unary | primary.
class ExprParser {
 public:
  ExprParser(Lexer &lx, bool strict) : lx_(lx), strict_(strict) {}

  Expr parse() { return parse_or(); }

  // Parses into `out`, a fresh Expr: the common shapes without building a tree.
  void parse_into(Expr &out) {
    const size_t start = lx_.pos();
    if (!simple(out)) {
      lx_.set_pos(start);
      out = parse_or();
    }
  }

 private:
  // A number, or numbers and known constants joined by '|', where nothing else of the
  // grammar follows: what almost every argument and result of a trace is. False (the caller
  // rewinds) when the general parser is needed.
  bool simple(Expr &out) {
    lx_.ws();
    const SrcLoc l = lx_.loc();
    uint64_t v = 0;
    // "-1": a negated number stands alone.
    const bool neg = lx_.peek() == '-' && is_digit(lx_.peek2());
    if (neg) lx_.set_pos(lx_.pos() + 1);
    for (;;) {
      const char c = lx_.peek();
      if (neg) {
        v = 0 - lx_.number();
      } else if (is_digit(c)) {
        v |= lx_.number();
      } else if (is_ident_start(c)) {
        const size_t b = lx_.pos();
        size_t e = b;
        while (e < lx_.size() && is_ident_char(lx_.at(e))) e++;
        if (e < lx_.size() && lx_.at(e) == '=') return false;  // a named argument
        std::optional<uint64_t> k = constant_value(lx_.view(b, e - b));
        if (!k) return false;
        v |= *k;
        lx_.set_pos(e);
      } else {
        return false;
      }
      lx_.ws();
      const char n = lx_.peek(), n2 = lx_.peek2();
      if (n == '|' && n2 != '|') {
        if (neg) return false;
        lx_.set_pos(lx_.pos() + 1);
        lx_.ws();
        continue;
      }
      if (n == '+' || n == '-' || n == '*' || (n == '&' && n2 != '&') || (n == '<' && n2 == '<'))
        return false;
      out.kind = Expr::Num;
      out.num = v;
      out.loc = l;
      return true;
    }
  }

  // Constant parts are folded as they are read: a trace's flags and addresses evaluate once.
  Expr bin(char op, Expr a, Expr b, SrcLoc l) {
    if (a.kind == Expr::Num && b.kind == Expr::Num) {
      a.num = binop_value(op, a.num, b.num);
      return a;
    }
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
      if (e.kids[0].kind == Expr::Num) {
        e.kind = Expr::Num;
        e.num = c == '~' ? ~e.kids[0].num : 0 - e.kids[0].num;
        e.kids.clear();
      }
      return e;
    }
    return parse_primary();
  }
  Expr parse_primary() {
    lx_.ws();
    Expr e;
    e.loc = lx_.loc();
    char c = lx_.peek();
    if (is_digit(c)) {
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
      if (std::optional<uint64_t> v = constant_value(e.text)) {
        e.kind = Expr::Num;
        e.num = *v;
        e.text.clear();
      } else if (strict_) {
        lx_.error_at(e.loc, "unknown constant '" + e.text + "'");
      }
      return e;
    }
    if (c == '\0') lx_.error("unexpected end of line");
    lx_.error(std::string("unexpected '") + c + "'");
  }

  Lexer &lx_;
  bool strict_;
};

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
      if (!next_line(&line)) {
        if (queue_.empty()) return false;
        // A fork that never resumed stays the comment it was held as.
        pending_.clear();
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
      const bool access = d.words.size() >= 3 &&
                          (d.words[2] == "read" || d.words[2] == "write" || d.words[2] == "exec");
      const bool signal =
          d.words.size() == 5 && (d.words[3] == "SIGSEGV" || d.words[3] == "SIGBUS");
      need(d.words.size() == 2 || (d.words.size() == 3 && access) || (access && signal),
           "expected ADDR LEN [read|write|exec [SIGSEGV|SIGBUS SI_CODE]]");
    } else if (d.name == "hostfile") {
      // A symbolic link has its "TARGET" after SHOWN.
      const size_t n = d.words.size();
      const size_t target = n >= 7 && d.quoted[6] ? 1 : 0;
      need(n == 6 + target || (n == 7 + target && d.words[n - 1] == "existing"),
           "expected \"PATH\" SIZE MODE MAJOR:MINOR INODE \"SHOWN\" [\"TARGET\"] [existing]");
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
