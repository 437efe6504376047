// Checking and evaluating parsed statements. See script_check.hpp and runner.hpp.
#include "trace/script_check.hpp"

#include "trace/runner.hpp"
#include "trace/symbols.hpp"

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
    if (a.is_str || a.opaque) {
      a.s = e.text;
      a.v = 0;
    } else {
      a.s.clear();
      a.v = eval_expr(e, vars);
    }
  }
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
  if (st.kind != Stmt::Call || !st.call.known) return true;
  const CallStmt &c = st.call;
  const CallDef &def = *c.def;
  if (c.name == "clone" || c.name == "clone3") {
    if (!c.bind.empty()) bound.insert(c.bind);
    return true;  // strace prints clone's arguments by name, in several shapes
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
    if (f == ArgFmt::path || (f == ArgFmt::optpath && a.kind == Expr::Str)) {
      if (a.kind != Expr::Str) {
        *error = where(s, a.loc) + ": argument " + std::to_string(i + 1) + " of " + c.name +
                 " must be a string";
        return false;
      }
      if (a.truncated) {
        *error = where(s, a.loc) + ": this string was truncated by strace; the path is incomplete";
        return false;
      }
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
  return true;
}

bool check_script(const Script &s, std::string *error) {
  ScriptChecker ch(s.file);
  for (const Stmt &st : s.stmts)
    if (!ch.check(st, error)) return false;
  return true;
}

}  // namespace vmspace
