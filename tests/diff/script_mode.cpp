// Script mode of the differential test: a script's calls run on the host kernel and on vmspace
// side by side. Every call must give the same result on both, every result the script states
// must be the kernel's, and every @maps block must match the kernel's maps (less the oracle's
// own mappings). With --annotate the script is printed back with the kernel's results.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "script_mode.hpp"
#include "session.hpp"
#include "trace/calls.hpp"
#include "trace/maps_compare.hpp"
#include "trace/runner.hpp"
#include "trace/script.hpp"
#include "trace/symbols.hpp"

namespace difftest {

namespace {

std::string where(const vmspace::Script &s, vmspace::SrcLoc l) {
  return s.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
}

bool number(const std::string &w, uint64_t *v) {
  if (w == "RLIM_INFINITY" || w == "unlimited" || w == "infinity") {
    *v = ~0ull;
    return true;
  }
  char *end = nullptr;
  unsigned long long r = std::strtoull(w.c_str(), &end, 0);
  if (w.empty() || *end) return false;
  *v = r;
  return true;
}

// Maps text for an example script: inode numbers that change from run to run become "*",
// and the sandbox directory becomes $ROOT.
std::string portable_maps(const std::string &maps) {
  std::string out;
  for (std::string l : vmspace::text_lines(maps)) {
    std::istringstream in(l);
    std::string range, perms, off, dev, ino;
    in >> range >> perms >> off >> dev >> ino;
    bool sandbox = l.find("$ROOT") != std::string::npos;
    bool own = dev == "00:01" || dev == "00:11" || dev == "00:12";
    if (sandbox || own) {
      size_t ino_at = l.find(" " + ino + " ", l.find(dev)) + 1;
      std::string rest = l.substr(ino_at + ino.size());
      l = l.substr(0, ino_at) + "*" + std::string(ino.size() > 1 ? ino.size() - 1 : 0, ' ') + rest;
    }
    out += l + "\n";
  }
  return out;
}

// Whether two smaps entries differ only in Referenced, the kernel's being the higher. The
// kernel counts a page referenced when its folio is (PG_referenced, young), and the host's
// reclaim aging sets that on folios a fork shares whenever memory is scanned: under load a
// fork child's entry read 8188 kB where it reads 2052 kB on a quiet machine (examples/thp.vms).
// That depends on the host's memory pressure, not on the program.
bool aged_only(const std::string &k, const std::string &v) {
  std::istringstream a(k), b(v);
  std::string la, lb;
  bool differs = false;
  while (true) {
    const bool ga = static_cast<bool>(std::getline(a, la)),
               gb = static_cast<bool>(std::getline(b, lb));
    if (ga != gb) return false;
    if (!ga) return differs;
    if (la == lb) continue;
    unsigned long long ka = 0, kb = 0;
    if (std::sscanf(la.c_str(), "Referenced: %llu kB", &ka) != 1 ||
        std::sscanf(lb.c_str(), "Referenced: %llu kB", &kb) != 1 || ka < kb)
      return false;
    differs = true;
  }
}

}  // namespace

int run_script_mode(const std::string &oracle, const std::string &path, bool annotate) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "%s:1:1: cannot read the script\n", path.c_str());
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const bool session_files_line =
      ("\n" + ss.str()).find("\n" + std::string(kSessionFilesLine) + "\n") != std::string::npos;
  vmspace::Script script;
  std::string err;
  vmspace::ParseOptions po;
  if (!vmspace::parse_script(ss.str(), path, po, &script, &err) ||
      !vmspace::check_script(script, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  const char *t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/vmspace-diffscript-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return 2;
  std::string dir = buf.data();
  ::chmod(dir.c_str(), 0777);

  int problems = 0, notes = 0;
  std::map<int, std::string> annotated;  // source line -> its new text
  std::map<int, int> skip_to;            // an @maps block's first line -> line after its '}'
  {
    Session s;
    if (!s.start(oracle, dir, true, false, &err)) {
      std::fprintf(stderr, "difftest: %s\n", err.c_str());
      std::filesystem::remove_all(dir);
      return 2;
    }
    std::map<std::string, uint64_t> vars;
    // Script pids -> slots. The first process is the script's first pid (1 by default); a
    // fork's child answers to the pid the script expects (or binds) and to vmspace's pid.
    std::map<int, int> slot_of = {{0, 0}, {1, 0}};
    for (const vmspace::Stmt &st : script.stmts) {
      int pid = st.kind == vmspace::Stmt::Call ? st.call.pid : 0;
      if (pid) {
        slot_of[pid] = 0;
        break;
      }
    }
    auto slot_for = [&](int pid, const std::string &loc) {
      auto it = slot_of.find(pid);
      if (it != slot_of.end() && s.alive(it->second)) return it->second;
      std::fprintf(stderr, "%s: no process %d\n", loc.c_str(), pid);
      return -1;
    };
    auto problem = [&](const std::string &msg) {
      problems++;
      std::fprintf(stderr, "%s\n", msg.c_str());
    };
    // Where the script's own expectations disagree with this kernel. They were annotated on
    // a kernel with Linux's defaults; on a host that differs (HostKernel) only vmspace,
    // configured as the host, is held against the kernel, and these are notes.
    const std::string host_differs = host_kernel().differences();
    auto script_problem = [&](const std::string &msg) {
      if (host_differs.empty()) return problem(msg);
      notes++;
      std::fprintf(stderr, "note: %s\n", msg.c_str());
    };
    // The kernel's maps without the oracle's own mappings, for @maps blocks.
    auto kernel_view = [&](int slot) {
      std::string out;
      for (const std::string &l : vmspace::text_lines(s.kernel_maps(slot))) {
        uint64_t start = std::strtoull(l.c_str(), nullptr, 16);
        bool own = false;
        for (auto &r : s.protected_ranges())
          if (start >= r.first && start < r.second && start < 0x1000000) own = true;
        if (!own) out += l + "\n";
      }
      return out;
    };
    for (const vmspace::Stmt &st : script.stmts) {
      const std::string loc = where(script, st.loc);
      if (st.kind == vmspace::Stmt::ExitMarker) {
        // "+++ exited with N +++": the process is gone (when it still runs, it exits now).
        auto it = slot_of.find(st.exit_pid);
        if (it != slot_of.end() && s.alive(it->second)) {
          Op op;
          op.kind = Op::Call;
          op.name = "exit_group";
          op.slot = it->second;
          vmspace::ArgVal zero;
          op.args.push_back(zero);
          s.kernel(op);
          s.vmspace(op);
        }
        continue;
      }
      if (st.kind == vmspace::Stmt::Dir) {
        const vmspace::Directive &d = st.dir;
        if (d.name == "file") {
          const FileSpec *session_file = nullptr;
          for (const FileSpec &f : session_files())
            if (session_files_line && d.words[0] == f.name && !d.quoted[1]) session_file = &f;
          for (const std::string &side : {s.kernel_dir(), s.vmspace_dir()}) {
            if (session_file) {
              std::string e;
              if (!make_session_file(side + "/" + d.words[0], *session_file, &e))
                problem(loc + ": " + e);
              continue;
            }
            std::string p = side + "/" + d.words[0];
            int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            uint64_t mode = 0666, size = 0;
            if (d.words.size() > 2) number(d.words[2], &mode);
            bool ok = fd >= 0;
            if (ok && d.quoted[1])
              ok = ::write(fd, d.words[1].data(), d.words[1].size()) ==
                   static_cast<ssize_t>(d.words[1].size());
            else if (ok)
              ok = number(d.words[1], &size) && ::ftruncate(fd, static_cast<off_t>(size)) == 0;
            if (fd >= 0) {
              ::fchmod(fd, static_cast<mode_t>(mode));
              ::close(fd);
            }
            if (!ok) problem(loc + ": cannot create " + d.words[0]);
          }

        } else if (d.name == "rlimit") {
          auto r = vmspace::constant_value(d.words[0]);
          Op op;
          op.kind = Op::Rlimit;
          op.resource = static_cast<int>(r.value_or(0));
          number(d.words[1], &op.soft);
          op.hard = op.soft;
          if (d.words.size() > 2)
            number(d.words[2], &op.hard);
          else
            op.hard = std::max(op.soft, s.proc().rlimit_max(op.resource));
          Answer k = s.kernel(op);
          if (!k.ok)
            problem(loc + ": the kernel refused the limit (errno " + std::to_string(k.err) + ")");
          s.proc().force_rlimit(op.resource, op.soft, op.hard);

        } else if (d.name == "root") {
          long a[6] = {65534, 65534, 65534, 0, 0, 0};
          // setresgid, then setresuid: the oracle becomes an ordinary user.
          long rg = s.kernel_syscall(119, a), ru = s.kernel_syscall(117, a);
          if (rg != 0 || ru != 0) problem(loc + ": the oracle could not drop privileges");
          s.proc().drop_privileges();

        } else if (d.name == "maps" || d.name == "status") {
          int pid = d.pid;
          if (!d.words.empty()) pid = std::atoi(d.words[0].c_str());
          int slot = slot_for(pid, loc);
          if (slot < 0) {
            problems++;
            continue;
          }
          if (d.name == "status") {
            std::string k = s.kernel_status(slot), v = s.vmspace_status(slot);
            if (k != v) {
              problem(loc + ": vmspace's status differs from the kernel's:");
              std::fprintf(stderr, "kernel:\n%svmspace:\n%s", k.c_str(), v.c_str());
            }
            if (d.has_block) {
              // Line by line for the keys the block has (older blocks lack the RSS lines).
              std::map<std::string, std::string> got;
              for (const std::string &l : vmspace::text_lines(k)) got[l.substr(0, l.find(':'))] = l;
              for (const std::string &l : d.block) {
                const size_t b = l.find_first_not_of(" \t");
                if (b == std::string::npos) continue;
                const std::string key = l.substr(b, l.find(':') - b);
                auto it = got.find(key);
                std::istringstream x(l.substr(l.find(':') + 1)),
                    y(it == got.end() ? "" : it->second.substr(it->second.find(':') + 1));
                std::string vx, vy;
                x >> vx;
                y >> vy;
                if (it == got.end() || vx != vy)
                  script_problem(loc + ": the @status block differs from the kernel's at " + key);
              }
            }
            annotated[st.loc.line] =
                "@status" + (d.words.empty() ? std::string() : " " + d.words[0]) + " {\n" + k + "}";
            if (d.has_block)
              skip_to[st.loc.line] =
                  d.block_locs.empty() ? st.loc.line + 1 : d.block_locs.back().line + 1;
            continue;
          }
          std::string k = s.kernel_maps(slot), v = s.vmspace_maps(slot);
          if (k != v) problem(loc + ": vmspace's maps differ from the kernel's");
          std::string view = kernel_view(slot);
          if (d.has_block) {
            std::vector<std::string> want, got = vmspace::text_lines(view);
            for (const std::string &l : d.block)
              if (l.find_first_not_of(" \t") != std::string::npos) want.push_back(l);
            bool same = want.size() == got.size();
            for (size_t i = 0; same && i < want.size(); i++)
              same = vmspace::maps_line_matches(want[i], got[i], "$ROOT");
            if (!same) {
              script_problem(loc + ": the @maps block differs from the kernel's maps:");
              for (const std::string &l : got) std::fprintf(stderr, "  kernel: %s\n", l.c_str());
            }
          }
          annotated[st.loc.line] = (d.pid ? std::to_string(d.pid) + " " : std::string()) + "@maps" +
                                   (d.words.empty() ? std::string() : " " + d.words[0]) + " {\n" +
                                   portable_maps(view) + "}";
          if (d.has_block && !d.block_locs.empty())
            skip_to[st.loc.line] = d.block_locs.back().line + 1;
          else if (d.has_block)
            skip_to[st.loc.line] = st.loc.line + 1;
        } else if (d.name == "smaps" || d.name == "smaps_rollup") {
          const bool rollup = d.name == "smaps_rollup";
          uint64_t addr = 0;
          if (!rollup) {
            std::string e;
            vmspace::Script tmp;
            vmspace::parse_script("munmap(" + d.words[0] + ", 0)\n", path, po, &tmp, &e);
            addr = vmspace::eval_expr(tmp.stmts[0].call.args[0], vars);
          }
          int slot = slot_for(d.pid, loc);
          if (slot < 0) {
            problems++;
            continue;
          }
          const std::string k = rollup ? s.kernel_smaps_rollup(slot) : s.kernel_smaps(slot, addr);
          const std::string v = rollup ? s.vmspace_smaps_rollup(slot) : s.vmspace_smaps(slot, addr);
          if (k != v && !aged_only(k, v)) {
            problem(loc + ": vmspace's " + d.name + " entry differs from the kernel's:");
            std::fprintf(stderr, "kernel:\n%svmspace:\n%s", k.c_str(), v.c_str());
          } else if (k != v) {
            std::fprintf(stderr,
                         "note: %s: the kernel's Referenced is higher than vmspace's: the "
                         "host's page aging marked shared folios referenced meanwhile\n",
                         loc.c_str());
          }
          if (d.has_block) {
            std::vector<std::string> want, got = vmspace::text_lines(k);
            for (const std::string &l : d.block)
              if (l.find_first_not_of(" \t") != std::string::npos) want.push_back(l);
            bool same = want.size() == got.size();
            for (size_t i = 0; same && i < want.size(); i++) {
              std::istringstream a(want[i]), b(got[i]);
              std::vector<std::string> wa, wb;
              for (std::string t; a >> t;) wa.push_back(t);
              for (std::string t; b >> t;) wb.push_back(t);
              same = i == 0 ? vmspace::maps_line_matches(want[i], got[i], "$ROOT") : wa == wb;
            }
            if (!same)
              script_problem(loc + ": the @" + d.name + " block differs from the kernel's");
            skip_to[st.loc.line] =
                d.block_locs.empty() ? st.loc.line + 1 : d.block_locs.back().line + 1;
          }
          annotated[st.loc.line] = (d.pid ? std::to_string(d.pid) + " " : std::string()) + "@" +
                                   d.name + (rollup ? "" : " " + d.words[0]) + " {\n" +
                                   portable_maps(k.substr(0, k.find('\n') + 1)) +
                                   k.substr(k.find('\n') + 1) + "}";
        } else if (d.name == "layout") {
          // Both sides start from the oracle's own layout, which is what a divergence
          // script's @layout holds.
        } else if (d.name == "touch" || d.name == "peek" || d.name == "poke" || d.name == "fill") {
          // Operands are expressions: evaluated as a call's arguments would be.
          size_t eq = d.words.size();
          for (size_t k = 0; k < d.words.size(); k++)
            if (d.words[k] == "=" && !d.quoted[k]) {
              eq = k;
              break;
            }
          if (d.words.size() == 5 && eq == 5 && d.name == "touch") eq = 3;  // recorded form
          auto value = [&](const std::string &w) {
            std::string e;
            vmspace::Script tmp;
            vmspace::parse_script("munmap(" + w + ", 0)\n", path, po, &tmp, &e);
            return vmspace::eval_expr(tmp.stmts[0].call.args[0], vars);
          };
          Op op;
          op.kind = d.name == "touch"  ? Op::Touch
                    : d.name == "peek" ? Op::Peek
                    : d.name == "poke" ? Op::Poke
                                       : Op::Memset;
          op.addr = value(d.words[0]);
          if (op.kind == Op::Poke) {
            op.bytes = d.words[1];
          } else {
            op.len = value(d.words[1]);
          }
          if (op.kind == Op::Touch) op.write = eq < 3 || d.words[2] == "write";
          if (op.kind == Op::Memset) op.byte = static_cast<uint8_t>(value(d.words[2]));
          op.slot = slot_for(d.pid, loc);
          if (op.slot < 0) {
            problems++;
            continue;
          }
          Answer k = s.kernel(op), v = s.vmspace(op);
          if (!(k == v))
            problem(loc + ": @" + d.name + " differs: kernel " + op_to_script(op, k) +
                    ", vmspace " + op_to_script(op, v));
          if (eq < d.words.size()) {
            std::string expected, got = op_to_script(op, k);
            for (size_t w = eq + 1; w < d.words.size(); w++)
              expected += (expected.empty() ? "" : " ") +
                          (d.quoted[w] ? vmspace::fmt_bytes(d.words[w]) : d.words[w]);
            const size_t at = got.find(" = ");
            got = at == std::string::npos ? got : got.substr(at + 3);
            if (got != expected)
              script_problem(loc + ": the kernel gave " + got + ", the script says " + expected);
          }
          if (!k.ok && op.slot == 0) break;
        } else {
          std::fprintf(stderr, "%s: @%s cannot run on the host kernel\n", loc.c_str(),
                       d.name.c_str());
          std::filesystem::remove_all(dir);
          return 2;
        }
        continue;
      }
      const vmspace::CallStmt &c = st.call;
      const vmspace::CallDef *def = vmspace::find_call(c.name);
      Op op;
      op.kind = Op::Call;
      op.name = c.name;
      op.slot = slot_for(c.pid, loc);
      if (op.slot < 0) {
        problems++;
        continue;
      }
      const bool fork = c.name == "fork" || c.name == "vfork";
      if (c.name == "clone" || c.name == "clone3") {
        std::fprintf(stderr, "%s: %s cannot run on the oracle\n", loc.c_str(), c.name.c_str());
        std::filesystem::remove_all(dir);
        return 2;
      }
      if (fork) {
        for (int k = Session::kSlots - 1; k >= 1; k--)
          if (!s.alive(k)) op.child = k;
        if (op.child < 0) {
          std::fprintf(stderr, "%s: too many processes for the oracle\n", loc.c_str());
          std::filesystem::remove_all(dir);
          return 2;
        }
      }
      for (size_t i = 0; i < c.args.size(); i++) {
        vmspace::ArgVal a;
        const vmspace::ArgFmt f = def->args[i];
        const vmspace::Expr &e = c.args[i];
        if (f == vmspace::ArgFmt::path && e.kind == vmspace::Expr::Str) {
          a.s = e.text;
          a.is_str = true;
        } else if (f == vmspace::ArgFmt::optpath && e.kind == vmspace::Expr::Str) {
          a.s = e.text;
          a.is_str = true;
        } else if (f == vmspace::ArgFmt::vec && e.kind == vmspace::Expr::Opaque) {
          a.opaque = true;
          a.s = e.text;
        } else if ((f == vmspace::ArgFmt::rbuf || f == vmspace::ArgFmt::wbuf) &&
                   e.kind == vmspace::Expr::Str) {
          a.is_str = true;
          a.s = e.text;
          a.truncated = e.truncated;
        } else {
          a.v = vmspace::eval_expr(e, vars);
        }
        op.args.push_back(a);
      }
      // The oracle's buffer for strings, vectors and read data holds 4096 bytes.
      int out_arg = -1;
      for (size_t i = 0; i < op.args.size(); i++) {
        const vmspace::ArgFmt f = def->args[i];
        const bool host_buf =
            ((f == vmspace::ArgFmt::rbuf || f == vmspace::ArgFmt::wbuf) && op.args[i].is_str) ||
            (f == vmspace::ArgFmt::vec && op.args[i].opaque);
        if (!host_buf) continue;
        if (f != vmspace::ArgFmt::wbuf) out_arg = static_cast<int>(i);
        const uint64_t n = f == vmspace::ArgFmt::vec ? (op.args[1].v + 4095) / 4096 : op.args[2].v;
        if (n > 4096) {
          std::fprintf(stderr, "%s: a buffer of more than 4096 bytes cannot run on the oracle\n",
                       loc.c_str());
          std::filesystem::remove_all(dir);
          return 2;
        }
      }
      const int pid = s.vmspace_pid(op.slot);
      Answer k = s.kernel(op), v = s.vmspace(op);
      const int child_pid = fork && v.ok ? static_cast<int>(v.value) : 0;
      if (fork && k.ok && v.ok) {
        // The child answers to vmspace's pid and to the one the script expects.
        slot_of[child_pid] = op.child;
        if (c.expect.kind == vmspace::Expectation::Value)
          slot_of[static_cast<int>(vmspace::eval_expr(c.expect.value, vars))] = op.child;
      }
      std::string line = op_to_script(op, k, 1, child_pid);
      (void)pid;
      const bool same = fork ? k.ok == v.ok : k == v;
      std::string what;
      if (!same)
        problem(loc + ": vmspace answered differently: kernel " + line);
      else if (!s.compare(&what))
        problem(loc + ": after " + c.name + ", " + what);
      if (c.expect.kind == vmspace::Expectation::Value ||
          c.expect.kind == vmspace::Expectation::Error) {
        uint64_t want = vmspace::eval_expr(c.expect.value, vars);
        bool same = c.expect.kind == vmspace::Expectation::Error
                        ? (!k.ok && k.err == static_cast<int>(c.expect.err) && want == ~0ull)
                        : (k.ok && (fork || k.value == want) &&
                           (out_arg < 0 || vmspace::out_matches(
                                               op.args[static_cast<size_t>(out_arg)],
                                               def->args[static_cast<size_t>(out_arg)], k.bytes)));
        if (!same)
          script_problem(loc + ": the script expects something else than the kernel's " + line);
      }
      if (!c.bind.empty())
        vars[c.bind] = k.ok ? (fork ? static_cast<uint64_t>(child_pid) : k.value) : ~0ull;
      annotated[st.loc.line] = (c.pid ? std::to_string(c.pid) + " " : "") +
                               (c.bind.empty() ? "" : "$" + c.bind + " = ") + line;
    }
  }
  std::filesystem::remove_all(dir);
  if (annotate) {
    // The script again, comments kept, each call with the kernel's result.
    std::vector<std::string> src = vmspace::text_lines(ss.str());
    for (size_t i = 0; i < src.size(); i++) {
      int line = static_cast<int>(i) + 1;
      auto a = annotated.find(line);
      if (a == annotated.end()) {
        std::printf("%s\n", src[i].c_str());
        continue;
      }
      std::printf("%s\n", a->second.c_str());
      auto sk = skip_to.find(line);
      if (sk != skip_to.end()) i = static_cast<size_t>(sk->second) - 1;
    }
  }
  if (notes)
    std::fprintf(stderr,
                 "%s: %d of the script's own expectations differ from this kernel (%s), "
                 "which is not the kernel the script was annotated on; vmspace was configured "
                 "as this kernel and compared with it\n",
                 path.c_str(), notes, host_kernel().differences().c_str());
  if (!annotate)
    std::printf("%s: %s\n", path.c_str(),
                problems ? "DISAGREES with the kernel" : "agrees with the kernel");
  return problems ? 1 : 0;
}

}  // namespace difftest
