// Checking and evaluating parsed statements. See script_check.hpp and runner.hpp.
#include "trace/script_check.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "trace/runner.hpp"
#include "trace/strace_log.hpp"
#include "trace/symbols.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

void collect_vars(const Expr &e, std::vector<const Expr *> &out) {
  if (e.kind == Expr::Var) out.push_back(&e);
  for (const Expr &k : e.kids) collect_vars(k, out);
}

bool numeric(const Expr &e) {
  if (e.kind == Expr::Num) return true;
  if (e.kind == Expr::Str || e.kind == Expr::Opaque) return false;
  for (const Expr &k : e.kids)
    if (!numeric(k)) return false;
  return true;
}

uint64_t eval_expr(const Expr &e, const std::map<std::string, uint64_t> &vars) {
  switch (e.kind) {
    case Expr::Num:
      return e.num;
    case Expr::Sym:
      return constant_value(e.text).value_or(0);
    case Expr::Var: {
      auto it = vars.find(e.text);
      return it == vars.end() ? 0 : it->second;
    }
    case Expr::Neg: {
      uint64_t v = eval_expr(e.kids[0], vars);
      return e.op == '~' ? ~v : (0 - v);
    }
    case Expr::Binop:
      return binop_value(e.op, eval_expr(e.kids[0], vars), eval_expr(e.kids[1], vars));
    default:
      return 0;
  }
}

void call_args(const std::vector<Expr> &exprs, const std::map<std::string, uint64_t> &vars,
               std::vector<ArgVal> *out) {
  out->resize(exprs.size());
  for (size_t i = 0; i < exprs.size(); i++) {
    const Expr &e = exprs[i];
    ArgVal &a = (*out)[i];
    a.is_str = e.kind == Expr::Str;
    a.opaque = e.kind == Expr::Opaque;
    a.truncated = e.truncated;
    if (a.is_str || a.opaque) {
      a.s = e.text;
      a.v = 0;
    } else {
      a.s.clear();
      a.v = eval_expr(e, vars);
    }
  }
}

bool directive_number(const std::string &w, uint64_t *v) {
  if (w == "RLIM_INFINITY" || w == "RLIM64_INFINITY" || w == "unlimited" || w == "infinity") {
    *v = ~0ull;
    return true;
  }
  // Digits only: strtoull would take blanks and a sign (and wrap "-1").
  if (w.empty() || w[0] < '0' || w[0] > '9') return false;
  char *end = nullptr;
  errno = 0;
  const unsigned long long r = std::strtoull(w.c_str(), &end, 0);
  if (errno || *end) return false;
  *v = r;
  return true;
}

bool read_sysctl(const Directive &d, SysctlSetting *out, std::string *error) {
  // The settings vmspace models, with the largest value each takes (Linux: their
  // proc_handler bounds; int settings end at INT_MAX).
  struct Known {
    const char *name;
    uint64_t max;
  };
  static constexpr Known kKnown[] = {
      {"vm.max_map_count", INT32_MAX},
      {"vm.mmap_min_addr", UINT64_MAX},
      {"vm.overcommit_memory", 2},
      {"vm.overcommit_ratio", INT32_MAX},
      {"vm.overcommit_kbytes", UINT64_MAX / 1024},
      {"vm.nr_hugepages", UINT64_MAX},
      {"vm.legacy_va_layout", INT32_MAX},
  };
  const Known *k = nullptr;
  for (const Known &c : kKnown)
    if (d.words.size() == 2 && d.words[0] == c.name) k = &c;
  if (!k) {
    *error = "@sysctl: unknown setting '" + (d.words.empty() ? "" : d.words[0]) +
             "' (vm.max_map_count, vm.mmap_min_addr, vm.overcommit_memory, vm.overcommit_ratio, "
             "vm.overcommit_kbytes, vm.nr_hugepages, vm.legacy_va_layout)";
    return false;
  }
  uint64_t v;
  if (!directive_number(d.words[1], &v) || v == ~0ull || v > k->max) {
    *error = "@sysctl: bad value '" + d.words[1] + "' for " + k->name + " (0 to " +
             std::to_string(k->max) + ")";
    return false;
  }
  out->name = k->name;
  out->value = v;
  return true;
}

bool read_rlimit(const Directive &d, RlimitSetting *out, std::string *error) {
  const std::optional<uint64_t> r = d.words.empty() ? std::nullopt : constant_value(d.words[0]);
  if (!r || d.words[0].compare(0, 7, "RLIMIT_") != 0 || *r >= 16) {
    *error = "@rlimit: unknown resource '" + (d.words.empty() ? "" : d.words[0]) + "'";
    return false;
  }
  RlimitSetting s;
  s.resource = static_cast<int>(*r);
  s.has_hard = d.words.size() > 2;
  if (!directive_number(d.words[1], &s.soft) ||
      (s.has_hard && !directive_number(d.words[2], &s.hard))) {
    *error = "@rlimit: bad limit (a number or RLIM_INFINITY)";
    return false;
  }
  if (s.has_hard && s.soft > s.hard) {
    *error = "@rlimit: soft limit above hard limit";
    return false;
  }
  if (s.resource == lx::rlimit_nofile &&
      (s.soft > lx::nr_open || (s.has_hard && s.hard > lx::nr_open))) {
    *error =
        "@rlimit: RLIMIT_NOFILE cannot be above fs.nr_open (" + std::to_string(lx::nr_open) + ")";
    return false;
  }
  *out = s;
  return true;
}

bool read_file_setting(const Directive &d, FileSetting *out, std::string *error) {
  FileSetting f;
  f.path = d.words.empty() ? std::string() : d.words[0];
  if (f.path.empty() || f.path.find('\0') != std::string::npos) {
    *error = "@file: expected a file name";
    return false;
  }
  if (d.words.size() > 2 && (!directive_number(d.words[2], &f.size) || f.size > 07777)) {
    *error = "@file: bad mode '" + d.words[2] + "' (an octal number up to 07777)";
    return false;
  }
  if (d.words.size() > 2) f.mode = static_cast<uint32_t>(f.size);
  f.size = 0;
  if (d.quoted.size() > 1 && d.quoted[1]) {
    f.content = &d.words[1];
  } else if (d.words.size() < 2 || !directive_number(d.words[1], &f.size) ||
             f.size > static_cast<uint64_t>(INT64_MAX)) {
    *error = "@file: bad size '" + (d.words.size() < 2 ? "" : d.words[1]) + "'";
    return false;
  }
  *out = std::move(f);
  return true;
}

bool ScriptChecker::check(const Stmt &st, std::string *error) {
  const std::string &s = file_;
  auto check_vars = [&](const Expr &e) -> bool {
    if (e.kind == Expr::Num) return true;
    std::vector<const Expr *> vs;
    collect_vars(e, vs);
    for (const Expr *v : vs) {
      if (!bound.count(v->text)) {
        *error = where(s, v->loc) + ": $" + v->text + " is used before it is bound";
        return false;
      }
    }
    return true;
  };
  if (st.kind == Stmt::Dir) {
    // Directive arguments are checked before anything runs.
    const Directive &d = st.dir;
    std::string e;
    bool ok = true;
    if (d.name == "sysctl") {
      SysctlSetting v;
      ok = read_sysctl(d, &v, &e);
    } else if (d.name == "rlimit") {
      RlimitSetting v;
      ok = read_rlimit(d, &v, &e);
    } else if (d.name == "file") {
      FileSetting v;
      ok = read_file_setting(d, &v, &e);
    } else if (d.name == "hostfile") {
      ok = parse_hostfile(d.words, nullptr, &e);
    } else if (d.name == "hostdata") {
      ok = parse_hostdata(d.words, nullptr, nullptr, &e);
    }
    if (!ok) *error = where(s, st.loc) + ": " + e;
    return ok;
  }
  if (st.kind != Stmt::Call || !st.call.known) return true;
  const CallStmt &c = st.call;
  const CallDef &def = *c.def;
  if (c.name == "clone" || c.name == "clone3") {
    if (!c.bind.empty()) bound.insert(c.bind);
    if (bound.size() <= kMaxVariables) return true;
    *error = where(s, st.loc) + ": more than " + std::to_string(kMaxVariables) + " variable names";
    return false;  // strace prints clone's arguments by name, in several shapes
  }
  if (c.args.size() < static_cast<size_t>(def.min_args) || c.args.size() > def.args.size()) {
    *error = where(s, st.loc) + ": " + c.name + " takes " +
             (def.min_args == static_cast<int>(def.args.size())
                  ? std::to_string(def.min_args)
                  : std::to_string(def.min_args) + " to " + std::to_string(def.args.size())) +
             " arguments, not " + std::to_string(c.args.size());
    return false;
  }
  for (size_t i = 0; i < c.args.size(); i++) {
    const Expr &a = c.args[i];
    const ArgFmt f = def.args[i];
    if (f == ArgFmt::path && numeric(a)) {
      // A guest address: the runner reads the path from guest memory (EFAULT when it cannot).
    } else if (f == ArgFmt::path || (f == ArgFmt::optpath && a.kind == Expr::Str)) {
      if (a.kind != Expr::Str) {
        *error = where(s, a.loc) + ": argument " + std::to_string(i + 1) + " of " + c.name +
                 " must be a string or a guest address";
        return false;
      }
      if (a.truncated) {
        *error = where(s, a.loc) + ": this string was truncated by strace; the path is incomplete";
        return false;
      }
    } else if ((f == ArgFmt::rbuf || f == ArgFmt::wbuf) && a.kind == Expr::Str) {
      // A buffer given as its contents: the runner's own memory.
    } else if (f == ArgFmt::vec && a.kind == Expr::Opaque) {
      // strace prints mincore's vector: it stands for a valid buffer.
    } else if (f == ArgFmt::strvec && a.kind == Expr::Opaque) {
      std::vector<std::string> v;
      if (!parse_strvec(a.text, &v)) {
        *error = where(s, a.loc) + ": argument " + std::to_string(i + 1) + " of " + c.name +
                 " must be an array of strings [\"...\", ...] (complete, not cut by strace)";
        return false;
      }
    } else if (!numeric(a)) {
      *error = where(s, a.loc) + ": argument " + std::to_string(i + 1) + " of " + c.name +
               " must be a number";
      return false;
    }
    if (!check_vars(a)) return false;
  }
  if (c.expect.kind == Expectation::Value || c.expect.kind == Expectation::Error) {
    if (!numeric(c.expect.value)) {
      *error = where(s, c.expect.loc) + ": the result must be a number";
      return false;
    }
    if (!check_vars(c.expect.value)) return false;
  }
  if (!c.bind.empty()) bound.insert(c.bind);
  if (bound.size() > kMaxVariables) {
    *error = where(s, st.loc) + ": more than " + std::to_string(kMaxVariables) + " variable names";
    return false;
  }
  return true;
}

bool check_script(const Script &s, std::string *error) {
  ScriptChecker ch(s.file);
  for (const Stmt &st : s.stmts)
    if (!ch.check(st, error)) return false;
  return true;
}

}  // namespace vmspace
