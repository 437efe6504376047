// The script runner. Each call is printed the way strace prints it, with its actual result,
// so the output is itself a valid script; expectations are checked as the script runs.
#include "trace/runner.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdarg>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "proc/maps.hpp"
#include "trace/calls.hpp"
#include "trace/maps_compare.hpp"
#include "trace/memory_directives.hpp"
#include "trace/script_check.hpp"
#include "trace/script_fs.hpp"
#include "trace/strace_log.hpp"
#include "trace/symbols.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

namespace {

class Runner {
 public:
  Runner(const std::string &file, System &sys, const RunOptions &o)
      : file_(file), sys_(sys), o_(o) {
    sys_.spawn();
  }

  // Runs one statement; false when the script cannot go on.
  bool step(const Stmt &st) {
    bool ok = true;
    follows_layout_ = last_was_layout_;
    last_was_layout_ = st.kind == Stmt::Dir && st.dir.name == "layout";
    switch (st.kind) {
      case Stmt::Call:
        ok = call(st);
        break;
      case Stmt::Dir:
        ok = directive(st);
        break;
      case Stmt::ExitMarker:
        // "+++ exited with N +++": the process is gone if it was not already.
        if (st.exit_pid && pids_.count(st.exit_pid)) sys_.exit_task(pids_[st.exit_pid]);
        break;
    }
    if (ok && sys_.memory_exhausted()) {
      // Calls fail with ENOMEM from here on: nothing after this would mean anything.
      std::fprintf(o_.err,
                   "%s: the guest model reached its memory limit (%llu bytes of host memory, "
                   "--max-memory): the run stops here\n",
                   where(file_, st.loc).c_str(),
                   static_cast<unsigned long long>(sys_.memory_limit()));
      return false;
    }
    return ok;
  }

  // The sandbox directory ($ROOT in expected maps lines).
  const std::string &root() const {
    static const std::string none;
    return o_.fs ? o_.fs->root() : none;
  }

  // Output goes to o_.out; a replay that only compares passes none.
  __attribute__((format(printf, 2, 3))) void out(const char *fmt, ...) {
    if (!o_.out) return;
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(o_.out, fmt, ap);
    va_end(ap);
  }

  RunStatus finish() {
    if (o_.out) std::fflush(o_.out);
    return mismatches_ ? run_mismatch : run_ok;
  }

 private:
  // Scripts name processes by the pids they were recorded with (strace -f
  // prints real pids); the first one is vmspace's pid 1 and children take the
  // pids fork returns here.
  Process proc(int pid, SrcLoc loc) {
    int real = 1;
    if (pid) {
      auto it = pids_.find(pid);
      if (it != pids_.end()) {
        real = it->second;
      } else if (!first_claimed_) {
        pids_[pid] = 1;
      } else {
        std::fprintf(o_.err, "%s: no process %d\n", where(file_, loc).c_str(), pid);
        return Process();
      }
    }
    first_claimed_ = true;
    Process p = sys_.process(real);
    if (!p)
      std::fprintf(o_.err, "%s: process %d has exited\n", where(file_, loc).c_str(), pid ? pid : 1);
    return p;
  }
  int real_pid(int pid) const {
    auto it = pids_.find(pid);
    return it == pids_.end() ? pid : it->second;
  }

  // ---- strace logs ----
  // One per address space: threads share one, a fork copies it, an execve starts afresh (a
  // new image, placed anew when the log was recorded with ASLR on).
  std::map<uint64_t, AddressRelocator> relocs_;  // by Process::mm_id()
  AddressRelocator &reloc(Process &p) { return relocs_[p.mm_id()]; }

  // A log recorded with ASLR on names the executable's pages where the kernel put it. The
  // first such address is the dynamic loader's mprotect of the executable's RELRO, which
  // starts its first writable segment: that page, in vmspace's layout, gives the distance.
  void learn_exe_delta(Process &p, uint64_t logged) {
    for (const VmaInfo &v : p.vmas()) {
      if (!AddressRelocator::in_pie_area(v.start) || !(v.flags & vm::write) || v.name.empty() ||
          v.name[0] != '/')
        continue;
      reloc(p).set_exe_delta(v.start - (logged & ~4095ull));
      return;
    }
  }

  // A call that takes the lowest free descriptor (from `min`) got M in the log: every
  // descriptor below M was open there, so the free ones here were open before the log began
  // (inherited) or made by calls outside its trace classes. Placeholders take them.
  void inherited_placeholders(Process &p, const CallStmt &c, const std::vector<ArgVal> &args) {
    uint64_t min = 0;
    const CallDef *d = c.def;
    if (d == fcntl_) {
      const uint64_t cmd = args.size() > 1 ? args[1].v : 0;
      if (cmd != 0 && cmd != 1030) return;  // F_DUPFD, F_DUPFD_CLOEXEC
      min = args.size() > 2 ? args[2].v : 0;
    } else if (d != open_ && d != openat_ && d != dup_ && d != memfd_) {
      return;
    }
    const int64_t got = static_cast<int64_t>(eval_expr(c.expect.value, vars_));
    if (got < 0 || got > (1 << 20)) return;
    for (uint64_t fd = min; fd < static_cast<uint64_t>(got); fd++)
      if (!p.fcntl(fd, lx::f_getfd, 0)) (void)p.install_placeholder(fd, false);
  }

  void fd_placeholders(Process &p, const CallStmt &c) {
    if (c.expect.kind != Expectation::Value) return;
    bool cloexec = false;
    for (uint64_t fd :
         fds_made_by(c, static_cast<int64_t>(eval_expr(c.expect.value, vars_)), &cloexec))
      (void)p.install_placeholder(fd, cloexec);
  }

  void mismatch(SrcLoc loc, const std::string &expected, const std::string &actual) {
    mismatches_++;
    if (!report()) return;
    std::fprintf(o_.err, "%s: mismatch: expected %s, got %s\n", where(file_, loc).c_str(),
                 expected.c_str(), actual.c_str());
  }
  // Whether to print another mismatch (every one is counted).
  bool report() { return ++reported_ <= o_.max_reports; }

  bool call(const Stmt &st) {
    const CallStmt &c = st.call;
    // "<... madvise resumed>) = ?" after another thread's exit_group: the thread died in
    // the call, with its whole address space; there is nothing left to replay it on.
    if (c.expect.kind == Expectation::Unchecked && c.pid && pids_.count(c.pid) &&
        !sys_.process(pids_[c.pid]))
      return true;
    Process p = proc(c.pid, st.loc);
    if (!p) return false;
    const int my_pid = p.pid();
    if (!c.known) {
      if (o_.out)
        out("%s%s\n", c.pid ? (std::to_string(my_pid) + " ").c_str() : "", c.source.c_str());
      if (o_.strace_mode) fd_placeholders(p, c);
      return true;
    }
    const CallDef &def = *c.def;
    if (o_.strace_mode && is_file_io(def)) {
      // A log's reads and writes (of terminals, pipes, the loader's reads of libraries) are
      // outside what a replay can check: skipped, as before vmspace modelled them.
      if (o_.out)
        out("%s%s\n", c.pid ? (std::to_string(my_pid) + " ").c_str() : "", c.name.c_str());
      return true;
    }
    const bool is_clone = &def == clone_ || &def == clone3_;
    std::vector<ArgVal> &args = args_;  // reused: a trace makes millions of calls
    if (is_clone)
      args = clone_args(c.args);
    else
      call_args(c.args, vars_, &args);
    if (o_.strace_mode && c.name == "close" && !args.empty() &&
        c.expect.kind == Expectation::Value && eval_expr(c.expect.value, vars_) == 0 &&
        !p.fcntl(args[0].v & 0xffffffffu, lx::f_getfd, 0)) {
      // The log closes a descriptor made by a call outside its trace classes (a socket under
      // -e trace=desc): a placeholder stands for it.
      CallStmt made;
      made.name = "socket";
      made.expect.kind = Expectation::Value;
      made.expect.value.kind = Expr::Num;
      made.expect.value.num = args[0].v & 0xffffffffu;
      fd_placeholders(p, made);
    }
    if ((o_.strace_mode || o_.fill_fd_gaps) && c.expect.kind == Expectation::Value)
      inherited_placeholders(p, c, args);
    // A path given as a number is a guest address: the string is read from guest memory as
    // the kernel's getname does (EFAULT when it cannot be, ENAMETOOLONG at PATH_MAX).
    Errno path_error = Errno::none;
    for (size_t i = 0; i < args.size() && i < def.args.size(); i++)
      if (def.args[i] == ArgFmt::path && !args[i].is_str && !args[i].opaque &&
          path_error == Errno::none)
        path_error = guest_path(p, args[i].v, &args[i].s);
    if (!o_.cwd.empty()) {
      // Relative paths of the log name files in the directory the program ran in.
      for (size_t i = 0; i < args.size() && i < def.args.size(); i++) {
        if (def.args[i] != ArgFmt::path || args[i].s.empty() || args[i].s[0] == '/') continue;
        if (c.name == "openat" && static_cast<int32_t>(args[0].v) != lx::at_fdcwd) continue;
        if (c.name == "memfd_create") continue;
        args[i].s = o_.cwd + "/" + args[i].s;
      }
    }
    if (o_.strace_mode) {
      // Addresses of a log recorded with ASLR on are moved to where vmspace put the same
      // mappings.
      for (size_t i = 0; i < args.size() && i < def.args.size(); i++)
        if ((def.args[i] == ArgFmt::addr || def.args[i] == ArgFmt::vec) && !args[i].opaque &&
            !args[i].is_str) {
          AddressRelocator &r = reloc(p);
          if (r.randomized() && !r.has_exe_delta() && AddressRelocator::in_pie_area(args[i].v) &&
              !r.knows(args[i].v))
            learn_exe_delta(p, args[i].v);
          args[i].v = r.relocate(args[i].v);
        }
    }
    const bool creates = is_clone || &def == fork_ || &def == vfork_;
    const uint64_t mm_before = p.mm_id();
    CallOutcome res;
    if (path_error != Errno::none) {
      res.ok = false;
      res.err = path_error;
    } else {
      res = def.exec(p, args);  // exit_group destroys p
    }
    if (res.unsupported) {
      std::fprintf(o_.err, "%s: %s\n", where(file_, st.loc).c_str(), res.unsupported);
      return false;
    }
    std::string violation = sys_.take_sandbox_violation();
    if (!violation.empty()) {
      std::fprintf(o_.err, "%s: %s\n", where(file_, st.loc).c_str(), violation.c_str());
      return false;
    }
    uint64_t value = res.ok ? res.value : ~0ull;
    if (!c.bind.empty()) vars_[c.bind] = value;  // (ScriptChecker bounds how many names)
    // A buffer the call filled is printed with its contents, and checked when the call
    // succeeded and its result is checked.
    bool out_differs = false;
    std::string out_wanted;
    if (res.out_arg >= 0 && static_cast<size_t>(res.out_arg) < args.size()) {
      ArgVal &b = args[static_cast<size_t>(res.out_arg)];
      const ArgFmt f = def.args[static_cast<size_t>(res.out_arg)];
      out_differs = res.ok && c.expect.kind == Expectation::Value && !out_matches(b, f, res.out);
      if (out_differs) out_wanted = format_arg(f, b);
      if (f == ArgFmt::vec) {
        b.s = res.out;
      } else {
        b.truncated = res.out.size() < res.value;
        b.s = std::move(res.out);
      }
    }

    if (o_.out) {
      std::string text = format_call(def, args);
      if (text.size() < 39) text.append(39 - text.size(), ' ');
      std::string bind = c.bind.empty() ? "" : "$" + c.bind + " = ";
      out("%s%s%s = %s\n", c.pid ? (std::to_string(my_pid) + " ").c_str() : "", bind.c_str(),
          text.c_str(), format_result(def, res).c_str());
    }

    const Expectation &x = c.expect;
    const int before = mismatches_;
    struct Count {
      RunStats *st;
      const int &now;
      int before;
      bool checked;
      ~Count() {
        if (!st || !checked) return;
        st->calls++;
        if (now != before) st->calls_differing++;
      }
    } count{o_.stats, mismatches_, before,
            x.kind == Expectation::Value || x.kind == Expectation::Error};
    if (o_.strace_mode && res.ok && (&def == execve_ || &def == execveat_))
      relocs_[p.mm_id()] = AddressRelocator();
    if (creates && res.ok) {
      // The expected value is the child's pid in the script's numbering.
      int child = static_cast<int>(res.value);
      if (o_.strace_mode)
        if (Process cp = sys_.process(child); cp && cp.mm_id() != mm_before)
          relocs_[cp.mm_id()] = relocs_[mm_before];
      if (x.kind == Expectation::Value) pids_[static_cast<int>(eval_expr(x.value, vars_))] = child;
      pids_[child] = child;
      return true;
    }
    if (out_differs)
      mismatch(x.loc, "buffer " + out_wanted,
               format_arg(def.args[static_cast<size_t>(res.out_arg)],
                          args[static_cast<size_t>(res.out_arg)]));
    if (x.kind == Expectation::Value) {
      uint64_t want = eval_expr(x.value, vars_);
      if (o_.strace_mode && def.result == ResultFmt::addr && res.ok) {
        AddressRelocator &r = reloc(p);
        r.learn(c.name, args, want, res.value);
        want = r.relocate(want);
      }
      if (!res.ok || want != res.value) {
        std::string w =
            def.result == ResultFmt::addr ? fmt_hex(want) : fmt_sdec(static_cast<int64_t>(want));
        mismatch(x.loc, w, format_result(def, res));
      }
    } else if (x.kind == Expectation::Error) {
      uint64_t want = eval_expr(x.value, vars_);
      if (res.ok || res.err != x.err || want != ~0ull)
        mismatch(x.loc, fmt_sdec(static_cast<int64_t>(want)) + " " + errno_name(x.err),
                 format_result(def, res));
    }
    return true;
  }

  void echo(const Stmt &st) {
    const Directive &d = st.dir;
    std::string line = (d.pid ? std::to_string(d.pid) + " " : "") + "@" + d.name;
    for (size_t i = 0; i < d.words.size(); i++)
      line += " " + (d.quoted[i] ? fmt_string(d.words[i]) : d.words[i]);
    out("%s\n", line.c_str());
  }

  bool directive(const Stmt &st) {
    const Directive &d = st.dir;
    const std::string loc = where(file_, st.loc);
    if (d.name == "maps") {
      int pid = d.pid;
      if (!d.words.empty()) pid = std::atoi(d.words[0].c_str());
      Process p = proc(pid, st.loc);
      if (!p) return false;
      std::string actual = p.maps();
      out("%s@maps%s {\n%s}\n", d.pid ? (std::to_string(d.pid) + " ").c_str() : "",
          d.words.empty() ? "" : (" " + d.words[0]).c_str(), actual.c_str());
      if (d.has_block) {
        std::vector<std::string> want;
        for (const std::string &l : d.block)
          if (l.find_first_not_of(" \t") != std::string::npos) want.push_back(l);
        std::vector<std::string> got = text_lines(actual);
        bool same = want.size() == got.size();
        for (size_t i = 0; same && i < want.size(); i++)
          same = maps_line_matches(want[i], got[i], root());
        if (o_.stats) {
          o_.stats->checkpoints++;
          if (!same) o_.stats->checkpoints_differing++;
        }
        if (!same && !report()) {
          mismatches_++;
        } else if (!same) {
          mismatches_++;
          std::fprintf(o_.err, "%s: mismatch: maps differ\n", loc.c_str());
          size_t n = std::max(want.size(), got.size());
          for (size_t i = 0; i < n; i++) {
            bool eq =
                i < want.size() && i < got.size() && maps_line_matches(want[i], got[i], root());
            if (eq) continue;
            if (i < want.size()) std::fprintf(o_.err, "  - %s\n", want[i].c_str());
            if (i < got.size()) std::fprintf(o_.err, "  + %s\n", got[i].c_str());
          }
        }
      }
      return true;
    }
    if (d.name == "status") {
      int pid = d.pid;
      if (!d.words.empty()) pid = std::atoi(d.words[0].c_str());
      Process p = proc(pid, st.loc);
      if (!p) return false;
      if (d.has_block && follows_layout_) {
        // The counters the imported layout started from: vmspace's pages change them.
        Process::StatusBase b;
        for (const std::string &l : d.block) {
          std::istringstream in(l);
          std::string key;
          uint64_t kb = 0;
          if (!(in >> key >> kb)) continue;
          if (key == "RssAnon:") b.rss_anon_kb = kb;
          if (key == "RssFile:") b.rss_file_kb = kb;
          if (key == "RssShmem:") b.rss_shmem_kb = kb;
          if (key == "VmHWM:") b.hwm_kb = kb;
          if (key == "VmPTE:") b.pte_kb = kb;
        }
        p.set_status_base(b);
      }
      std::string actual = p.status();
      out("@status%s {\n%s}\n", d.words.empty() ? "" : (" " + d.words[0]).c_str(), actual.c_str());
      if (d.has_block) {
        // Lines compare by key; keys vmspace does not render yet (VmRSS, ...)
        // are skipped.
        std::map<std::string, std::string> have;
        for (const std::string &l : text_lines(actual))
          have[l.substr(0, l.find(':'))] = maps_fields(l).size() > 1 ? l : l;
        for (size_t i = 0; i < d.block.size(); i++) {
          const std::string &l = d.block[i];
          size_t colon = l.find(':');
          if (colon == std::string::npos) continue;
          std::string key =
              l.substr(l.find_first_not_of(" \t"), colon - l.find_first_not_of(" \t"));
          auto it = have.find(key);
          if (it == have.end()) continue;
          std::istringstream a(l.substr(colon + 1)), b(it->second.substr(it->second.find(':') + 1));
          std::string va, ua, vb, ub;
          a >> va >> ua;
          b >> vb >> ub;
          if (va != vb) {
            SrcLoc lc = i < d.block_locs.size() ? d.block_locs[i] : st.loc;
            mismatch(lc, key + " " + va + " kB", vb + " kB");
          }
        }
      }
      return true;
    }
    if (d.name == "layout") {
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      std::string text;
      int base_line = 0;
      if (d.has_block) {
        for (const std::string &l : d.block) text += l + "\n";
        base_line = d.block_locs.empty() ? 0 : d.block_locs[0].line - 1;
      } else if (d.file_loaded) {
        text = d.file_text;
      } else {
        std::string err;
        if (!o_.host_files) {
          std::fprintf(o_.err,
                       "%s: @layout FILE: a replay reads no host file; a trace carries its layout "
                       "as @layout { ... }\n",
                       loc.c_str());
          return false;
        }
        if (!read_layout_file(d.words[0], o_.script_dir, &text, &err)) {
          std::fprintf(o_.err, "%s: @layout: %s\n", loc.c_str(), err.c_str());
          return false;
        }
      }
      std::string err;
      if (!p.import_layout(text, &err)) {
        if (d.has_block) {
          int l = std::atoi(err.c_str());
          size_t colon = err.find(':');
          std::fprintf(o_.err, "%s:%d:%s\n", file_.c_str(), base_line + l,
                       err.substr(colon + 1).c_str());
        } else {
          std::fprintf(o_.err, "%s: in %s: %s\n", loc.c_str(), d.words[0].c_str(), err.c_str());
        }
        return false;
      }
      out("@layout {\n%s}\n", text.c_str());
      return true;
    }
    if (d.name == "file") return file_directive(st);
    if (d.name == "sysctl") {
      echo(st);
      SysctlSetting v;
      std::string e;
      if (!read_sysctl(d, &v, &e)) {
        std::fprintf(o_.err, "%s: %s\n", loc.c_str(), e.c_str());
        return false;
      }
      Result<void> set = sys_.set_sysctl(v.name, v.value);
      if (!set) {
        std::fprintf(o_.err, "%s: @sysctl %s: %s\n", loc.c_str(), v.name.c_str(),
                     errno_name(set.error()));
        return false;
      }
      return true;
    }
    if (d.name == "rlimit") {
      echo(st);
      RlimitSetting v;
      std::string e;
      if (!read_rlimit(d, &v, &e)) {
        std::fprintf(o_.err, "%s: %s\n", loc.c_str(), e.c_str());
        return false;
      }
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      uint64_t hard = v.hard;
      if (!v.has_hard) {
        hard = std::max(v.soft, p.rlimit_max(v.resource));
        if (v.resource == lx::rlimit_nofile) hard = std::min(hard, lx::nr_open);
      }
      p.force_rlimit(v.resource, v.soft, hard);
      return true;
    }
    if (d.name == "hostfile" || d.name == "hostdata") {
      // A recorded host file: the replay works on a stand-in with its size and identity.
      echo(st);
      std::string error;
      if (!o_.fs) {
        std::fprintf(o_.err, "%s: @%s needs the file system of scripts (ScriptFs)\n", loc.c_str(),
                     d.name.c_str());
        return false;
      }
      const bool ok = d.name == "hostfile" ? add_recorded_file(*o_.fs, d.words, &error)
                                           : add_recorded_bytes(*o_.fs, d.words, &error);
      if (!ok) std::fprintf(o_.err, "%s: %s\n", loc.c_str(), error.c_str());
      return ok;
    }
    if (d.name == "fd") {
      // A descriptor made by a call vmspace does not model (a socket, a pipe, ...): a
      // placeholder that cannot be mapped (it is /dev/null) takes the number, so that later
      // descriptors are numbered as on the kernel.
      uint64_t fd;
      if (!word_value(d.words[0], &fd, st.loc)) return false;
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      const bool cloexec = d.words.size() > 1;
      Result<void> placed = p.install_placeholder(fd, cloexec);
      const Errno e = placed.error();
      if (e != Errno::none) {
        std::fprintf(o_.err, "%s: @fd %llu: %s\n", loc.c_str(), static_cast<unsigned long long>(fd),
                     errno_name(e));
        return false;
      }
      out("%s@fd %llu%s\n", d.pid ? (std::to_string(d.pid) + " ").c_str() : "",
          static_cast<unsigned long long>(fd), cloexec ? " cloexec" : "");
      return true;
    }
    if (d.name == "touch" || d.name == "poke" || d.name == "peek" || d.name == "fill") {
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      MemoryDirectiveIo io;
      io.value = [&](const std::string &w, uint64_t *v) { return word_value(w, v, st.loc); };
      io.print = [&](const std::string &line) { out("%s\n", line.c_str()); };
      io.mismatch = [&](const std::string &e, const std::string &a) { mismatch(st.loc, e, a); };
      io.error = [&](const std::string &m) {
        std::fprintf(o_.err, "%s: %s\n", loc.c_str(), m.c_str());
      };
      io.stats = o_.stats;
      return run_memory_directive(p, d, io);
    }
    if (d.name == "smaps" || d.name == "smaps_rollup") {
      // @smaps ADDR: the smaps entry of the VMA holding ADDR; @smaps_rollup: every VMA's
      // counters summed; with { ... }, expected.
      const bool rollup = d.name == "smaps_rollup";
      uint64_t addr = 0;
      if (!rollup && !word_value(d.words[0], &addr, st.loc)) return false;
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      const std::string actual = rollup ? p.smaps_rollup() : p.smaps(addr);
      out("%s@%s%s {\n%s}\n", d.pid ? (std::to_string(d.pid) + " ").c_str() : "", d.name.c_str(),
          rollup ? "" : (" " + fmt_hex0x(addr)).c_str(), actual.c_str());
      if (d.has_block) {
        std::vector<std::string> want, got = text_lines(actual);
        std::vector<SrcLoc> locs;
        for (size_t i = 0; i < d.block.size(); i++)
          if (d.block[i].find_first_not_of(" \t") != std::string::npos) {
            want.push_back(d.block[i]);
            locs.push_back(i < d.block_locs.size() ? d.block_locs[i] : st.loc);
          }
        // The maps line as @maps compares it; the counters word by word.
        const size_t n = std::max(want.size(), got.size());
        for (size_t i = 0; i < n; i++) {
          const std::string w = i < want.size() ? want[i] : "(nothing)";
          const std::string g = i < got.size() ? got[i] : "(nothing)";
          const bool same =
              i < want.size() && i < got.size() &&
              (i == 0 ? maps_line_matches(w, g, root()) : maps_fields(w) == maps_fields(g));
          if (!same) mismatch(i < locs.size() ? locs[i] : st.loc, w, g);
        }
      }
      return true;
    }
    if (d.name == "vmas") {
      // Every VMA with its flags as smaps' VmFlags shows them and its anon_vma (which
      // decides merges): for watching splits, merges and faults.
      int pid = d.pid;
      if (!d.words.empty()) pid = std::atoi(d.words[0].c_str());
      Process p = proc(pid, st.loc);
      if (!p) return false;
      out("@vmas%s {\n", d.words.empty() ? "" : (" " + d.words[0]).c_str());
      for (const VmaInfo &v : p.vmas()) {
        out("  %08llx-%08llx %s%s%s\n", static_cast<unsigned long long>(v.start),
            static_cast<unsigned long long>(v.end), render_vm_flags(v.flags).c_str(),
            v.anon_vma_id ? ("anon_vma=" + std::to_string(v.anon_vma_id)).c_str() : "",
            v.name.empty() ? "" : ("  " + v.name).c_str());
      }
      out("}\n");
      return true;
    }
    if (d.name == "fdsize") {
      // The file behind FD has SIZE bytes now (written by calls a trace does not have): its
      // stand-in in the sandbox gets that size. Files outside the sandbox are not changed.
      echo(st);
      uint64_t fd, size;
      if (!word_value(d.words[0], &fd, st.loc) || !word_value(d.words[1], &size, st.loc))
        return false;
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      Errno e = o_.fs ? resize_standin(p, *o_.fs, fd, size) : Errno::inval;
      if (e != Errno::none) {
        std::fprintf(o_.err, "%s: @fdsize: %s\n", loc.c_str(), errno_name(e));
        return false;
      }
      return true;
    }
    if (d.name == "cwd") {
      // The recorded program's working directory: relative paths start there.
      echo(st);
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      p.set_cwd(d.words[0]);
      return true;
    }
    if (d.name == "cred") {
      // A credential call changed the effective uid or capabilities (setuid, capset, ...).
      echo(st);
      Process p = proc(d.pid, st.loc);
      uint64_t euid = 0, caps = 0;
      if (!p || !word_value(d.words[0], &euid, st.loc) || !word_value(d.words[1], &caps, st.loc))
        return false;
      p.set_credentials(static_cast<uint32_t>(euid), caps);
      return true;
    }
    if (d.name == "root") {
      echo(st);
      Process p = proc(d.pid, st.loc);
      if (!p) return false;
      if (d.words[0] == "off") p.drop_privileges();
      return true;
    }
    std::fprintf(o_.err, "%s: @%s is not supported yet\n", loc.c_str(), d.name.c_str());
    return false;
  }

  // A directive word as an expression: numbers, constants, $variables, + - | <<.
  bool last_was_layout_ = false, follows_layout_ = false;  // @status right after @layout

  bool word_value(const std::string &w, uint64_t *v, SrcLoc loc) {
    Expr e;
    if (!parse_expression(w, &e) || !numeric(e)) {
      std::fprintf(o_.err, "%s: bad value '%s'\n", where(file_, loc).c_str(), w.c_str());
      return false;
    }
    std::vector<const Expr *> vs;
    collect_vars(e, vs);
    for (const Expr *var : vs)
      if (!vars_.count(var->text)) {
        std::fprintf(o_.err, "%s: $%s is not bound\n", where(file_, loc).c_str(),
                     var->text.c_str());
        return false;
      }
    *v = eval_expr(e, vars_);
    return true;
  }

  bool file_directive(const Stmt &st) {
    const Directive &d = st.dir;
    const std::string loc = where(file_, st.loc);
    FileSetting f;
    std::string e;
    if (!read_file_setting(d, &f, &e) ||
        !(o_.fs && o_.fs->make_file(f.path, f.content, f.size, f.mode, &e))) {
      if (!o_.fs && e.empty()) e = "@file needs the file system of scripts (ScriptFs)";
      std::fprintf(o_.err, "%s: @file: %s\n", loc.c_str(), e.c_str());
      return false;
    }
    echo(st);
    return true;
  }

  const std::string &file_;
  System &sys_;
  const CallDef *const clone_ = find_call("clone"), *const clone3_ = find_call("clone3");
  const CallDef *const fork_ = find_call("fork"), *const vfork_ = find_call("vfork");
  const CallDef *const execve_ = find_call("execve"), *const execveat_ = find_call("execveat");
  const CallDef *const open_ = find_call("open"), *const openat_ = find_call("openat");
  const CallDef *const dup_ = find_call("dup"), *const fcntl_ = find_call("fcntl");
  const CallDef *const memfd_ = find_call("memfd_create");
  std::vector<ArgVal> args_;
  const RunOptions &o_;
  // clone(child_stack=..., flags=..., ...) and clone3({flags=..., ...}, size):
  // the flags.
  std::vector<ArgVal> clone_args(const std::vector<Expr> &exprs) {
    std::vector<ArgVal> a(1);
    for (const Expr &e : exprs) {
      if (e.name == "flags") {
        a[0].v = eval_expr(e, vars_);
        return a;
      }
    }
    if (!exprs.empty() && exprs[0].kind == Expr::Opaque) {
      const std::string &t = exprs[0].text;
      size_t f = t.find("flags=");
      if (f != std::string::npos) {
        size_t e = t.find_first_of(",}", f);
        Expr flags;
        if (parse_expression(std::string_view(t).substr(f + 6, e - f - 6), &flags))
          a[0].v = eval_expr(flags, vars_);
      }
      return a;
    }
    if (!exprs.empty() && exprs[0].kind != Expr::Opaque && exprs[0].name.empty())
      a[0].v = eval_expr(exprs[0], vars_);
    return a;
  }

  std::map<std::string, uint64_t> vars_;
  std::map<int, int> pids_;  // script pid -> vmspace pid
  bool first_claimed_ = false;
  int mismatches_ = 0;
  uint64_t reported_ = 0;
};

}  // namespace

std::unique_ptr<System> make_script_system(const SystemConfig &cfg,
                                           const ScriptFsOptions &fs_options, ScriptFs **fs) {
  auto owned = std::make_unique<ScriptFs>(fs_options);
  *fs = owned.get();
  return std::make_unique<System>(cfg, std::move(owned));
}

RunStatus run_script(const Script &s, System &sys, const RunOptions &opts) {
  Runner r(s.file, sys, opts);
  size_t done = 0;
  for (const Stmt &st : s.stmts) {
    if (opts.progress && (++done & 4095) == 0) opts.progress(done, s.stmts.size());
    const bool ok = r.step(st);
    if (opts.after_step) opts.after_step(sys);
    if (!ok) return run_bad_input;
  }
  return r.finish();
}

RunStatus run_stream(ScriptReader &reader, const std::string &file, size_t size, System &sys,
                     const RunOptions &opts, std::string *error) {
  Runner r(file, sys, opts);
  ScriptChecker ch(file);
  Stmt st;
  size_t done = 0;
  while (reader.next(&st)) {
    if (opts.progress && (++done & 16383) == 0) opts.progress(reader.offset(), size);
    if (!ch.check(st, error)) return run_bad_input;
    const bool ok = r.step(st);
    if (opts.after_step) opts.after_step(sys);
    if (!ok) return run_bad_input;
  }
  if (!reader.error().empty()) {
    *error = reader.error();
    return run_bad_input;
  }
  return r.finish();
}

}  // namespace vmspace
