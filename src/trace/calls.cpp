// The call table of the script runner. See calls.hpp.
#include "trace/calls.hpp"

#include "trace/script.hpp"
#include "trace/symbols.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

namespace {
template <class T>
CallOutcome outcome(const Result<T> &r) {
  CallOutcome o;
  if (!r) {
    o.ok = false;
    o.err = r.error();
    return o;
  }
  o.value = static_cast<uint64_t>(*r);
  return o;
}
CallOutcome outcome(const Result<void> &r) {
  CallOutcome o;
  if (!r) {
    o.ok = false;
    o.err = r.error();
  }
  return o;
}

const std::vector<CallDef> &calls() {
  using A = ArgFmt;
  static const std::vector<CallDef> table = {
      {"mmap", {A::addr, A::dec, A::prot, A::mflags, A::intarg, A::hex}, 6, ResultFmt::addr,
       [](Process &p, const std::vector<ArgVal> &a) {
         return outcome(p.mmap(a[0].v, a[1].v, a[2].v, a[3].v, a[4].v, a[5].v));
       }},
      {"munmap", {A::addr, A::dec}, 2, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) { return outcome(p.munmap(a[0].v, a[1].v)); }},
      {"mprotect", {A::addr, A::dec, A::prot}, 3, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) {
         return outcome(p.mprotect(a[0].v, a[1].v, a[2].v));
       }},
      {"open", {A::path, A::oflags, A::mode}, 2, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) {
         return outcome(p.open(a[0].s, a[1].v, a.size() > 2 ? a[2].v : 0));
       }},
      {"openat", {A::dirfd, A::path, A::oflags, A::mode}, 3, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) {
         return outcome(p.openat(a[0].v, a[1].s, a[2].v, a.size() > 3 ? a[3].v : 0));
       }},
      {"close", {A::intarg}, 1, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) { return outcome(p.close(a[0].v)); }},
      {"dup", {A::intarg}, 1, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) { return outcome(p.dup(a[0].v)); }},
      {"dup2", {A::intarg, A::intarg}, 2, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) { return outcome(p.dup2(a[0].v, a[1].v)); }},
      {"dup3", {A::intarg, A::intarg, A::oflags}, 3, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) {
         return outcome(p.dup3(a[0].v, a[1].v, a[2].v));
       }},
      {"ftruncate", {A::intarg, A::dec}, 2, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) { return outcome(p.ftruncate(a[0].v, a[1].v)); }},
      {"memfd_create", {A::path, A::mfdflags}, 2, ResultFmt::dec,
       [](Process &p, const std::vector<ArgVal> &a) {
         return outcome(p.memfd_create(a[0].s, a[1].v));
       }},
  };
  return table;
}

std::string format_arg(ArgFmt f, const ArgVal &a) {
  switch (f) {
    case ArgFmt::addr: return fmt_addr(a.v);
    case ArgFmt::hex: return fmt_hex(a.v);
    case ArgFmt::dec: return fmt_dec(a.v);
    case ArgFmt::intarg: return fmt_int(a.v);
    case ArgFmt::prot: return fmt_prot(a.v);
    case ArgFmt::mflags: return fmt_mmap_flags(a.v);
    case ArgFmt::path: return fmt_string(a.s);
    case ArgFmt::oflags: return fmt_open_flags(a.v);
    case ArgFmt::mode: return fmt_octal(a.v);
    case ArgFmt::dirfd: return fmt_dirfd(a.v);
    case ArgFmt::mfdflags: return fmt_mfd_flags(a.v);
  }
  return fmt_hex(a.v);
}
}  // namespace

bool is_supported_call(const std::string &name) { return find_call(name) != nullptr; }

const CallDef *find_call(const std::string &name) {
  for (const CallDef &d : calls())
    if (name == d.name) return &d;
  return nullptr;
}

std::string format_call(const CallDef &def, const std::vector<ArgVal> &args) {
  std::string out = def.name;
  out += '(';
  for (size_t i = 0; i < args.size(); i++) {
    if (i) out += ", ";
    out += format_arg(def.args[i], args[i]);
  }
  out += ')';
  return out;
}

std::string format_result(const CallDef &def, const CallOutcome &o) {
  if (!o.ok) return std::string("-1 ") + errno_name(o.err) + " (" + errno_text(o.err) + ")";
  if (def.result == ResultFmt::addr) return fmt_hex(o.value);
  return fmt_sdec(static_cast<int64_t>(o.value));
}

}  // namespace vmspace
