// The lexer and expression parser of scripts and strace output (see script.hpp for the
// grammar): used by script_parser.cpp only.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "trace/script.hpp"
#include "trace/symbols.hpp"

namespace vmspace::script_lex {

struct ParseError {
  SrcLoc loc;
  std::string msg;
};

// ASCII only, without the locale lookups of <cctype>: the lexer runs on every byte of a trace.
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

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
  // Bounds that keep parsing, evaluating and freeing an expression off deep recursion: how
  // deeply parentheses, unary operators and named arguments nest, and how many operator
  // nodes (after constants are folded) one expression has.
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxNodes = 256;

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
  // One level of nesting, undone when the level is left.
  struct Nest {
    explicit Nest(ExprParser &p) : p_(p) {
      if (++p_.depth_ > kMaxDepth)
        p_.lx_.error("expression nested too deeply (more than " + std::to_string(kMaxDepth) +
                     " levels)");
    }
    ~Nest() { p_.depth_--; }
    Nest(const Nest &) = delete;
    Nest &operator=(const Nest &) = delete;
    ExprParser &p_;
  };
  void count_node(SrcLoc l) {
    if (++nodes_ > kMaxNodes)
      lx_.error_at(l, "expression too long (more than " + std::to_string(kMaxNodes) +
                          " operators on names)");
  }

  Expr bin(char op, Expr a, Expr b, SrcLoc l) {
    if (a.kind == Expr::Num && b.kind == Expr::Num) {
      a.num = binop_value(op, a.num, b.num);
      return a;
    }
    count_node(l);
    Expr e;
    e.kind = Expr::Binop;
    e.op = op;
    e.loc = l;
    e.kids.push_back(std::move(a));
    e.kids.push_back(std::move(b));
    return e;
  }
  Expr parse_or() {
    Nest nest(*this);
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
      Nest nest(*this);
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
      } else {
        count_node(l);
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
  int depth_ = 0;
  int nodes_ = 0;
};

}  // namespace vmspace::script_lex
