// vmspace-difftest: the differential test against the host kernel.
//
// Random but seeded sequences of memory and descriptor calls run in a forked child on the real
// kernel (ASLR off) and in vmspace started from that child's layout. After every operation the
// return value or errno and the complete /proc/PID/maps text must be identical. A divergence
// prints the seed and a minimal `vmspace run` script that reproduces it.
//
//   vmspace-difftest [--seed S] [--sequences N] [--shard K/N] [--ops N] [--oracle PATH] [-v]
//   vmspace-difftest --script FILE      run a script's calls on both sides, print kernel results
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "generator.hpp"
#include "script_mode.hpp"
#include "session.hpp"
#include "trace/script.hpp"
#include "trace/symbols.hpp"
#include "vmspace/abi.hpp"

using namespace difftest;
namespace lx = vmspace::lx;

namespace {

struct Config {
  std::string oracle;
  uint64_t seed = 1;
  int sequences = 100;
  int ops = 250;
  int shard = 0, shards = 1;  // run only this share of the sequences (--shard K/N)
  bool verbose = false;
  bool annotate = false;
  std::string script;
};

std::string make_dir() {
  const char *t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/vmspace-diff-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return "";
  return buf.data();
}

// Coverage: which flag combinations and error paths the run reached.
struct Coverage {
  std::set<std::string> mmap_flags;
  std::set<std::string> errors;
  std::map<std::string, int> calls;
  void add(const Op &op, const Answer &k) {
    std::string name = op.kind == Op::Call     ? op.name
                       : op.kind == Op::Touch  ? "touch"
                       : op.kind == Op::Fill   ? "fill"
                       : op.kind == Op::Peek   ? "peek"
                       : op.kind == Op::Poke   ? "poke"
                       : op.kind == Op::Memset ? "memset"
                                               : "setrlimit";
    if (op.kind != Op::Call && op.kind != Op::Fill && op.kind != Op::Rlimit) {
      calls[name]++;
      if (!k.ok) errors.insert(name + " " + vmspace::fmt_fault(vmspace::Fault{k.err, k.code, 0}));
      return;
    }
    if (op.kind == Op::Call && op.name == "madvise")
      name += " " + vmspace::fmt_madvise(op.args[2].v);
    calls[name]++;
    if (op.kind == Op::Call && op.name == "mmap") {
      std::string f = vmspace::fmt_mmap_flags(op.args[3].v);
      mmap_flags.insert(f);
      if (!k.ok)
        errors.insert("mmap " +
                      std::string(vmspace::errno_name(static_cast<vmspace::Errno>(k.err))) + " [" +
                      f + "]");
    }
    if (!k.ok) errors.insert(name + " " + vmspace::errno_name(static_cast<vmspace::Errno>(k.err)));
  }
};

struct Divergence {
  bool found = false;
  size_t at = 0;
  std::string what;
};

bool is_fork(const Op &op) {
  return op.kind == Op::Call && (op.name == "fork" || op.name == "vfork");
}

// Runs one step on both sides and compares: the result, then for every live process the
// maps, the VmFlags of every VMA and the status lines of the VMA layer.
bool step(Session &s, const Op &op, Answer *kernel, std::string *what) {
  Answer k = s.kernel(op);
  Answer v = s.vmspace(op);
  *kernel = k;
  const bool memory =
      op.kind == Op::Touch || op.kind == Op::Peek || op.kind == Op::Poke || op.kind == Op::Memset;
  auto show = [&](const Answer &a) {
    if (memory) {
      if (!a.ok)
        return a.err == -1 ? std::string("no process")
                           : vmspace::fmt_fault(vmspace::Fault{a.err, a.code, a.fault_addr});
      return op.kind == Op::Peek ? vmspace::fmt_bytes(a.bytes) : std::string("0");
    }
    if (!a.ok)
      return a.err == -1
                 ? std::string("fault")
                 : std::string("-1 ") + vmspace::errno_name(static_cast<vmspace::Errno>(a.err));
    return vmspace::fmt_hex(a.value);
  };
  // A fork's pid differs between the sides; only success counts.
  const bool same = is_fork(op) ? (k.ok == v.ok && (k.ok || k.err == v.err)) : k == v;
  if (!same) {
    *what = "result: kernel " + show(k) + ", vmspace " + show(v);
    return false;
  }
  if (!s.kernel_alive()) {
    // Both sides faulted: the oracle is gone, the sequence ends here without a divergence.
    if (memory && !k.ok) return true;
    *what = "the oracle died";
    return false;
  }
  return s.compare(what);
}

// Replays fixed ops on a fresh session; returns the index of the first divergence or -1.
long replay(const Config &c, const std::vector<Op> &ops, bool privileged, std::string *what,
            std::vector<Answer> *answers, std::string *layout,
            std::vector<std::pair<int, int>> *pids = nullptr) {
  std::string dir = make_dir(), err;
  long at = -1;
  {
    Session s;
    if (!s.start(c.oracle, dir, privileged, true, &err)) {
      *what = err;
      std::filesystem::remove_all(dir);
      return -2;
    }
    if (layout) *layout = s.initial_layout();
    for (size_t i = 0; i < ops.size(); i++) {
      Answer k;
      if (!s.alive(ops[i].slot) || s.blocked(ops[i].slot) ||
          (is_fork(ops[i]) && s.alive(ops[i].child))) {
        // Minimising removed the fork this op's process came from, or the exit of the vfork
        // child its process waits for: not a valid sequence.
        *what = "invalid";
        at = -3;
        break;
      }
      const int pid = s.vmspace_pid(ops[i].slot);
      bool ok = step(s, ops[i], &k, what);
      if (answers) answers->push_back(k);
      if (pids) {
        pids->push_back(
            {pid, is_fork(ops[i]) && ops[i].child >= 0 ? s.vmspace_pid(ops[i].child) : 0});
      }
      if (!ok) {
        at = static_cast<long>(i);
        break;
      }
    }
  }
  std::filesystem::remove_all(dir);
  return at;
}

// Delta debugging: the smallest subsequence (keeping the failing op last) that still diverges.
// The first line of a divergence description: what kind of difference it is.
std::string kind_of(const std::string &what) { return what.substr(0, what.find('\n')); }

std::vector<Op> minimize(const Config &c, std::vector<Op> ops, bool privileged,
                         const std::string &what0) {
  // At most 300 replays and two minutes: a long minimisation must not eat the CI budget.
  int budget = 300;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  size_t n = 2;
  while (ops.size() > 1 && budget > 0 && std::chrono::steady_clock::now() < deadline) {
    size_t body = ops.size() - 1;
    size_t chunk = (body + n - 1) / n;
    bool reduced = false;
    for (size_t start = 0; start < body && budget > 0; start += chunk) {
      std::vector<Op> cand;
      for (size_t i = 0; i < ops.size(); i++)
        if (i < start || i >= start + chunk || i == ops.size() - 1) cand.push_back(ops[i]);
      std::string what;
      if (--budget < 0 || std::chrono::steady_clock::now() >= deadline) break;
      long at = replay(c, cand, privileged, &what, nullptr, nullptr);
      if (at == static_cast<long>(cand.size()) - 1 && kind_of(what) == kind_of(what0)) {
        ops = cand;
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk <= 1) break;
      n = std::min(body, n * 2);
    }
  }
  return ops;
}

std::string repro_script(uint64_t seed, const std::vector<Op> &ops, const std::vector<Answer> &ans,
                         const std::vector<std::pair<int, int>> &pids, const std::string &layout,
                         bool privileged, const std::string &what) {
  std::string s = "# vmspace-difftest divergence, seed " + std::to_string(seed) + "\n";
  struct utsname u;
  if (::uname(&u) == 0) s += "# kernel: " + std::string(u.sysname) + " " + u.release + "\n";
  std::istringstream w(what);
  std::string line;
  while (std::getline(w, line)) s += "# " + line + "\n";
  s += "@layout {\n" + layout + "}\n";
  s += std::string(kSessionFilesLine) + "\n";
  for (const FileSpec &f : session_files()) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "0%o", f.mode);
    s += "@file " + std::string(f.name) + " " + std::to_string(f.size) + " " + mode + "\n";
  }
  if (!privileged) s += "@root off\n";
  for (size_t i = 0; i < ops.size(); i++) {
    std::pair<int, int> p = i < pids.size() ? pids[i] : std::pair<int, int>{1, 0};
    s += op_to_script(ops[i], i < ans.size() ? ans[i] : Answer{}, p.first, p.second) + "\n";
  }
  s += "@maps\n";
  return s;
}

int run_random(const Config &c) {
  Coverage cov;
  uint64_t total = 0;
  int divergences = 0;
  int ran = 0;
  for (int q = 0; q < c.sequences; q++) {
    // Every 16th sequence runs near vm.max_map_count and costs most: spread those too.
    if ((q + q / 16) % c.shards != c.shard) continue;
    ran++;
    uint64_t seed = c.seed + static_cast<uint64_t>(q);
    Generator g(seed * 0x9e3779b97f4a7c15ull + 1);
    bool privileged = g.pick(4) != 0;
    bool near_limit = seed % 16 == 5;
    std::string dir = make_dir(), err;
    std::vector<Op> ops;
    std::vector<Answer> answers;
    std::string what, layout;
    bool diverged = false;
    {
      Session s;
      if (!s.start(c.oracle, dir, privileged, true, &err)) {
        std::fprintf(stderr, "difftest: cannot start a session: %s\n", err.c_str());
        return 2;
      }
      layout = s.initial_layout();
      int n = c.ops;
      for (int i = 0; i < n; i++) {
        Op op;
        if (near_limit && i == 3) {
          // Fill the address space up to vm.max_map_count (give or take a few).
          op.kind = Op::Fill;
          op.addr = 0x200000000ull;
          // By a process that can run (after a vfork the parent waits for its child).
          for (int k = Session::kSlots - 1; k >= 0; k--)
            if (s.alive(k) && !s.blocked(k)) op.slot = k;
          int count = s.proc(op.slot).map_count();
          int64_t want = 65530 - count - 1 + static_cast<int64_t>(g.pick(5)) - 2;
          op.len = static_cast<uint64_t>(want < 2 ? 2 : want);
          n = std::min(n, i + 40);  // every later step compares 65k maps lines
        } else {
          op = g.next(s);
        }
        Answer k;
        const int pid = s.vmspace_pid(op.slot);
        if (c.verbose) std::fprintf(stderr, "> %s\n", op_to_script(op, Answer{}, pid, 0).c_str());
        bool ok = step(s, op, &k, &what);
        ops.push_back(op);
        answers.push_back(k);
        g.observe(op, k);
        cov.add(op, k);
        total++;
        if (c.verbose)
          std::printf(
              "%s\n",
              op_to_script(op, k, pid, op.child >= 0 ? s.vmspace_pid(op.child) : 0).c_str());
        if (!ok) {
          diverged = true;
          break;
        }
        if (!s.kernel_alive()) break;  // an agreed fault ended the sequence
      }
    }
    std::filesystem::remove_all(dir);
    if (diverged) {
      divergences++;
      std::printf("DIVERGENCE seed %llu at op %zu (%s)\n%s\n",
                  static_cast<unsigned long long>(seed), ops.size() - 1,
                  privileged ? "root" : "unprivileged", what.c_str());
      std::vector<Op> small = ops;
      bool has_fill = false;
      for (const Op &o : ops) has_fill |= o.kind == Op::Fill;
      if (!has_fill) small = minimize(c, ops, privileged, what);
      std::vector<Answer> sans;
      std::vector<std::pair<int, int>> pids;
      std::string w2;
      replay(c, small, privileged, &w2, &sans, &layout, &pids);
      std::printf("--- minimal script (%zu of %zu ops) ---\n%s--- end ---\n", small.size(),
                  ops.size(),
                  repro_script(seed, small, sans, pids, layout, privileged, w2.empty() ? what : w2)
                      .c_str());
      if (divergences >= 3) break;
    }
  }
  std::printf("difftest: %llu operations in %d sequences, %d divergences\n",
              static_cast<unsigned long long>(total), ran, divergences);
  std::printf("difftest: %zu distinct mmap flag combinations, %zu distinct (call, errno) paths\n",
              cov.mmap_flags.size(), cov.errors.size());
  std::printf("difftest: calls:");
  for (auto &[k, v] : cov.calls) std::printf(" %s=%d", k.c_str(), v);
  std::printf("\n");
  if (c.verbose)
    for (const std::string &e : cov.errors) std::printf("  %s\n", e.c_str());
  return divergences ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
  Config c;
  std::string self = argv[0];
  c.oracle = std::filesystem::absolute(std::filesystem::path(self).parent_path()).string() +
             "/vmspace-oracle";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "difftest: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed")
      c.seed = std::strtoull(next().c_str(), nullptr, 0);
    else if (a == "--sequences")
      c.sequences = std::atoi(next().c_str());
    else if (a == "--shard") {
      // K/N: one N-th of the sequences (CTest runs the shards side by side).
      std::string v = next();
      if (std::sscanf(v.c_str(), "%d/%d", &c.shard, &c.shards) != 2 || c.shards < 1 ||
          c.shard < 0 || c.shard >= c.shards) {
        std::fprintf(stderr, "difftest: --shard takes K/N with 0 <= K < N\n");
        return 2;
      }
    } else if (a == "--ops")
      c.ops = std::atoi(next().c_str());
    else if (a == "--oracle")
      c.oracle = next();
    else if (a == "--script")
      c.script = next();
    else if (a == "--annotate")
      c.annotate = true;
    else if (a == "-v")
      c.verbose = true;
    else if (a == "--no-rss")
      difftest::compare_rss = false;
    else {
      std::fprintf(stderr,
                   "usage: vmspace-difftest [--seed S] [--sequences N] [--shard K/N] [--ops N] "
                   "[--oracle PATH] [--no-rss] "
                   "[-v]\n");
      return 2;
    }
  }
  c.oracle = std::filesystem::absolute(c.oracle).string();
  if (::access(c.oracle.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "difftest: no oracle at %s\n", c.oracle.c_str());
    return 2;
  }
  if (!c.script.empty()) return run_script_mode(c.oracle, c.script, c.annotate);
  return run_random(c);
}
