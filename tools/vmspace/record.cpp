// vmspace record and vmspace replay.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/vmspace/commands.hpp"
#include "tools/vmspace/input.hpp"
#include "trace/recorder.hpp"
#include "trace/runner.hpp"
#include "trace/sandboxed.hpp"
#include "trace/script.hpp"
#include "trace/script_fs.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

namespace {
// A JSON string's contents: quotes, backslashes and control characters escaped, and every
// byte that is not part of valid UTF-8 written as \u00XX (the byte's value as a code point),
// so that the output is always valid JSON.
std::string json_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  auto esc = [&](unsigned char c) {
    char b[8];
    std::snprintf(b, sizeof b, "\\u%04x", c);
    o += b;
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
      i++;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      esc(c);
      i++;
      continue;
    }
    if (c < 0x80) {
      o += static_cast<char>(c);
      i++;
      continue;
    }
    // A UTF-8 sequence: its length, and the range its second byte may take (no overlong
    // forms, no surrogates, nothing past U+10FFFF).
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; k++) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      ok = k == 1 ? d >= lo && d <= hi : d >= 0x80 && d <= 0xbf;
    }
    if (!ok) {
      esc(c);
      i++;
      continue;
    }
    o.append(s.substr(i, n));
    i += n;
  }
  return o;
}
}  // namespace

namespace {
// A recording stopped by a signal (Ctrl-C, a timeout's SIGTERM, a closed terminal) still
// leaves its trace: the handler tells the recorder, and kills the program so that the
// recorder, maybe waiting for it, wakes up.
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_leader = 0;
extern "C" void on_stop_signal(int sig) {
  if (!g_stop) g_stop = sig;
  if (g_leader > 0) ::kill(static_cast<pid_t>(g_leader), SIGKILL);
}
}  // namespace

int cmd_record(const std::vector<std::string> &args) {
  vmspace::RecordOptions o;
  std::string out_path;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string &a = args[i];
    if (a == "-o" && i + 1 < args.size()) {
      out_path = args[++i];
    } else if (a == "--checkpoints=each") {
      o.checkpoints_each = true;
    } else if (a == "--checkpoints=end") {
      o.checkpoints_each = false;
    } else if (a == "--keep-env") {
      o.keep_env = true;
    } else if (a == "--") {
      i++;
      break;
    } else {
      std::fprintf(stderr, "vmspace record: unknown option '%s'\n", a.c_str());
      return 2;
    }
  }
  o.argv.assign(args.begin() + static_cast<long>(i), args.end());
  if (out_path.empty() || o.argv.empty()) {
    std::fprintf(
        stderr,
        "usage: vmspace record -o TRACE [--checkpoints=each|end] [--keep-env] -- CMD [ARGS...]\n");
    return 2;
  }
  // Written next to the target and renamed at the end: no half-written trace is left.
  const std::string tmp = out_path + ".partial";
  FILE *f = std::fopen(tmp.c_str(), "we");  // not inherited by the program
  if (!f) {
    std::perror(("vmspace record: " + tmp).c_str());
    return 2;
  }
  o.out = f;
  o.stop = &g_stop;
  o.leader = &g_leader;
  struct sigaction sa = {}, old_sa[3];
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);  // no SA_RESTART: a wait for the program returns EINTR
  const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int k = 0; k < 3; k++) ::sigaction(stop_signals[k], &sa, &old_sa[k]);
  vmspace::RecordResult r = vmspace::record_program(o);
  for (int k = 0; k < 3; k++) ::sigaction(stop_signals[k], &old_sa[k], nullptr);
  g_leader = 0;
  const bool write_ok = std::fflush(f) == 0 && std::fclose(f) == 0;
  if (!r.error.empty() || !write_ok) {
    std::remove(tmp.c_str());
    std::fprintf(stderr, "vmspace record: %s\n",
                 r.error.empty() ? "cannot write the trace" : r.error.c_str());
    return 2;
  }
  if (!r.executed && !r.truncated_by) {
    std::remove(tmp.c_str());
    std::fprintf(stderr, "vmspace record: cannot execute %s\n", o.argv[0].c_str());
    return 2;
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::perror("vmspace record: rename");
    std::remove(tmp.c_str());
    return 2;
  }
  if (r.truncated_by) {
    std::fprintf(stderr,
                 "vmspace record: stopped by %s: the program was killed; the trace (%ld calls, "
                 "%ld checkpoints) ends there with a '# truncated' line\n",
                 strsignal(r.truncated_by), r.calls, r.checkpoints);
    return 128 + r.truncated_by;
  }
  std::fprintf(stderr,
               "vmspace record: %ld calls, %ld checkpoints, %ld unsupported markers; the program "
               "exited with status %d\n",
               r.calls, r.checkpoints, r.unsupported, r.exit_status);
  return 0;
}

namespace {
// The summary of a replay: counts, and the first divergence with the trace lines before it.
int report(const std::string &path, std::string_view text, bool json, int status,
           const vmspace::RunStats &stats, const std::string &errors) {
  const long calls_same = stats.calls - stats.calls_differing;
  const long cps_same = stats.checkpoints - stats.checkpoints_differing;
  std::string first = errors.substr(0, errors.find("\n" + path + ":", 1));
  while (!first.empty() && first.back() == '\n') first.pop_back();
  std::string context;
  if (first.compare(0, path.size() + 1, path + ":") == 0) {
    const long at = std::atol(first.c_str() + path.size() + 1);
    size_t pos = 0;
    for (long n = 1; n < at && pos < text.size(); n++) {
      size_t e = text.find('\n', pos);
      if (e == std::string_view::npos) e = text.size();
      if (n >= at - 5) {
        std::string_view l = text.substr(pos, std::min<size_t>(e - pos, 300));
        context += "  " + std::to_string(n) + ": " + std::string(l) + "\n";
      }
      pos = e + 1;
    }
  }
  // Calls the recorder marked as beyond vmspace's model were not replayed: the replay cannot
  // call the whole trace identical.
  long unsupported = 0;
  for (size_t at = text.find("# unsupported:"); at != std::string_view::npos;
       at = text.find("# unsupported:", at + 1))
    unsupported++;
  const bool identical = status == vmspace::run_ok && stats.calls_differing == 0 &&
                         stats.checkpoints_differing == 0 && unsupported == 0;
  // A recording stopped by a signal ends with "# truncated: SIGNAME" (the program was killed
  // there): what it has can be identical, but it is not the whole run.
  std::string truncated;
  if (const size_t at = text.rfind("\n# truncated: "); at != std::string_view::npos) {
    const size_t from = at + 14, end = text.find('\n', from);
    truncated = std::string(text.substr(from, end == std::string_view::npos ? end : end - from));
  }
  if (json) {
    std::printf(
        "{\"trace\": \"%s\", \"identical\": %s, \"calls\": %ld, \"calls_identical\": %ld, "
        "\"checkpoints\": %ld, \"checkpoints_identical\": %ld, \"unsupported\": %ld, "
        "\"truncated\": \"%s\", \"first_divergence\": \"%s\"}\n",
        json_escape(path).c_str(), identical ? "true" : "false", stats.calls, calls_same,
        stats.checkpoints, cps_same, unsupported, json_escape(truncated).c_str(),
        json_escape(identical ? "" : first).c_str());
  } else {
    std::printf("%ld/%ld calls identical, %ld/%ld checkpoints identical\n", calls_same, stats.calls,
                cps_same, stats.checkpoints);
    if (unsupported)
      std::printf("%ld calls in the trace are marked unsupported and were not replayed\n",
                  unsupported);
    if (!truncated.empty())
      std::printf(
          "the trace is truncated: its recording was stopped by %s, which killed the "
          "program there\n",
          truncated.c_str());
    if (!identical) {
      if (!context.empty())
        std::printf("the trace before the first divergence:\n%s", context.c_str());
      std::printf("%s", first.c_str());
      if (!first.empty() && first.back() != '\n') std::printf("\n");
    }
  }
  if (status == vmspace::run_bad_input) return 2;
  return identical ? 0 : 1;
}
}  // namespace

int cmd_replay(const std::vector<std::string> &args) {
  bool json = false, strace = false;
  std::string path, cwd;
  uint64_t max_memory = vmspace::default_max_memory();
  const char *usage =
      "usage: vmspace replay [--json] [--max-memory BYTES] [--strace [--cwd DIR]] TRACE\n";
  for (size_t k = 0; k < args.size(); k++) {
    const std::string &a = args[k];
    if (a == "--cwd" && k + 1 < args.size()) {
      cwd = args[++k];
    } else if (a == "--max-memory" && k + 1 < args.size()) {
      if (!vmspace::parse_size(args[++k], &max_memory)) {
        std::fprintf(stderr,
                     "vmspace replay: --max-memory takes a size (BYTES, or with K, M, G)\n");
        return 2;
      }
    } else if (a == "--json") {
      json = true;
    } else if (a == "--strace") {
      strace = true;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "vmspace replay: unknown option '%s'\n%s", a.c_str(), usage);
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (path.empty()) {
    std::fputs(usage, stderr);
    return 2;
  }
  InputText input;
  std::string error;
  if (!input.open(path, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  const std::string_view text = input.text();
  return vmspace::run_sandboxed("replay", "", max_memory, [&](const std::string &root) {
    // The trace runs as it is read: a long one needs no memory for its statements.
    vmspace::ParseOptions popts;
    popts.ignore_unknown = strace;  // read, fstat, ...: not memory calls
    vmspace::ScriptReader reader(text, path, popts);
    std::string bad;
    char *errbuf = nullptr;
    size_t errlen = 0;
    FILE *err = ::open_memstream(&errbuf, &errlen);
    if (!err) err = stderr;
    vmspace::RunStats stats;
    int status;
    {
      vmspace::SystemConfig cfg;
      cfg.max_memory = max_memory;
      vmspace::ScriptFsOptions fso;
      fso.root = root;
      fso.copy_host_writes = true;
      // A recorded trace carries the files it needs; an strace log does not.
      fso.recorded_only = !strace;
      vmspace::RunOptions ropts;
      std::unique_ptr<vmspace::System> sys = vmspace::make_script_system(cfg, fso, &ropts.fs);
      ropts.out = nullptr;
      ropts.err = err;
      ropts.stats = &stats;
      ropts.strace_mode = strace;
      ropts.host_files = false;
      ropts.fill_fd_gaps = true;
      ropts.max_reports = 100;  // the report shows the first
      const bool bar = ::isatty(STDERR_FILENO) && !json;
      if (bar) {
        ropts.progress = [](size_t done, size_t total) {
          const int width = 40;
          const int filled = total ? static_cast<int>(width * done / total) : width;
          std::fprintf(stderr, "\r[%.*s%*s] %3d%%", filled,
                       "========================================", width - filled, "",
                       total ? static_cast<int>(100 * done / total) : 100);
          std::fflush(stderr);
        };
      }
      ropts.cwd = cwd;
      std::filesystem::path p(path);
      ropts.script_dir = p.has_parent_path() ? p.parent_path().string() : ".";
      status = vmspace::run_stream(reader, path, text.size(), *sys, ropts, &bad);
    }
    if (::isatty(STDERR_FILENO) && !json) std::fprintf(stderr, "\r%60s\r", "");
    if (err != stderr) std::fclose(err);
    std::string errors(errbuf ? errbuf : "", errlen);
    std::free(errbuf);
    if (!bad.empty()) {
      // Bad input: the trace is not a trace vmspace can read, whatever ran before it.
      std::fprintf(stderr, "%s\n", bad.c_str());
      return 2;
    }
    return report(path, text, json, status, stats, errors);
  });
}

}  // namespace vmspace_cli
