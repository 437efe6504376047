// vmspace record and vmspace replay.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/vmspace/commands.hpp"
#include "trace/recorder.hpp"
#include "trace/runner.hpp"
#include "trace/script.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

namespace {
// The whole file in one read (a trace can be hundreds of megabytes).
bool read_whole_file(const std::string &path, std::string *out) {
  FILE *f = std::fopen(path.c_str(), "re");
  if (!f) return false;
  struct stat st {};
  if (::fstat(::fileno(f), &st) == 0 && S_ISREG(st.st_mode))
    out->reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

std::string json_escape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += c;
    }
  }
  return o;
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
    std::fprintf(stderr,
                 "usage: vmspace record -o TRACE [--checkpoints=each|end] -- CMD [ARGS...]\n");
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
  vmspace::RecordResult r = vmspace::record_program(o);
  const bool write_ok = std::fflush(f) == 0 && std::fclose(f) == 0;
  if (!r.error.empty() || !write_ok) {
    std::remove(tmp.c_str());
    std::fprintf(stderr, "vmspace record: %s\n",
                 r.error.empty() ? "cannot write the trace" : r.error.c_str());
    return 2;
  }
  if (!r.executed) {
    std::remove(tmp.c_str());
    std::fprintf(stderr, "vmspace record: cannot execute %s\n", o.argv[0].c_str());
    return 2;
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::perror("vmspace record: rename");
    std::remove(tmp.c_str());
    return 2;
  }
  std::fprintf(stderr,
               "vmspace record: %ld calls, %ld checkpoints, %ld unsupported markers; the program "
               "exited with status %d\n",
               r.calls, r.checkpoints, r.unsupported, r.exit_status);
  return 0;
}

int cmd_replay(const std::vector<std::string> &args) {
  bool json = false, strace = false;
  std::string path, cwd;
  for (size_t k = 0; k < args.size(); k++) {
    const std::string &a = args[k];
    if (a == "--cwd" && k + 1 < args.size()) {
      cwd = args[++k];
    } else if (a == "--json") {
      json = true;
    } else if (a == "--strace") {
      strace = true;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "vmspace replay: unknown option '%s'\n", a.c_str());
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "usage: vmspace replay [--json] [--strace [--cwd DIR]] TRACE\n");
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: vmspace replay [--json] [--strace [--cwd DIR]] TRACE\n");
    return 2;
  }
  std::string text;
  if (!read_whole_file(path, &text)) {
    std::fprintf(stderr, "%s:1:1: cannot read the trace\n", path.c_str());
    return 2;
  }
  // The trace runs as it is read: a long one needs no memory for its statements.
  vmspace::ParseOptions popts;
  popts.ignore_unknown = strace;  // read, fstat, ...: not memory calls
  vmspace::ScriptReader reader(text, path, popts);
  std::string error;
  const std::string root = make_sandbox("replay");
  if (root.empty()) return 2;
  char *errbuf = nullptr;
  size_t errlen = 0;
  FILE *err = ::open_memstream(&errbuf, &errlen);
  vmspace::RunStats stats;
  int status;
  {
    vmspace::SystemConfig cfg;
    cfg.root_dir = root;
    cfg.standin_host_writes = true;
    // A recorded trace carries the files it needs; an strace log does not.
    cfg.recorded_files_only = !strace;
    vmspace::System sys(cfg);
    vmspace::RunOptions ropts;
    ropts.out = nullptr;
    ropts.err = err;
    ropts.stats = &stats;
    ropts.strace_mode = strace;
    ropts.host_files = false;
    ropts.fill_fd_gaps = true;
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
    status = vmspace::run_stream(reader, path, text.size(), sys, ropts, &error);
  }
  if (::isatty(STDERR_FILENO) && !json) std::fprintf(stderr, "\r%60s\r", "");
  std::fclose(err);
  std::string errors(errbuf ? errbuf : "", errlen);
  std::free(errbuf);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  if (!error.empty()) {
    // Bad input: the trace is not a trace vmspace can read, whatever ran before it.
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }

  const long calls_same = stats.calls - stats.calls_differing;
  const long cps_same = stats.checkpoints - stats.checkpoints_differing;
  // The first report, and the trace lines before it.
  std::string first = errors.substr(0, errors.find("\n" + path + ":", 1));
  while (!first.empty() && first.back() == '\n') first.pop_back();
  std::string context;
  size_t colon = first.find(':');
  if (first.compare(0, path.size() + 1, path + ":") == 0 && colon != std::string::npos) {
    int at = std::atoi(first.c_str() + path.size() + 1);
    std::istringstream lines(text);
    std::string l;
    for (int n = 1; std::getline(lines, l) && n < at; n++)
      if (n >= at - 5) context += "  " + std::to_string(n) + ": " + l + "\n";
  }
  // Calls the recorder marked as beyond vmspace's model were not replayed: the replay cannot
  // call the whole trace identical.
  long unsupported = 0;
  for (size_t at = text.find("# unsupported:"); at != std::string::npos;
       at = text.find("# unsupported:", at + 1))
    unsupported++;
  const bool identical = status == vmspace::run_ok && stats.calls_differing == 0 &&
                         stats.checkpoints_differing == 0 && unsupported == 0;
  if (json) {
    std::printf(
        "{\"trace\": \"%s\", \"identical\": %s, \"calls\": %ld, \"calls_identical\": %ld, "
        "\"checkpoints\": %ld, \"checkpoints_identical\": %ld, \"unsupported\": %ld, "
        "\"first_divergence\": \"%s\"}\n",
        json_escape(path).c_str(), identical ? "true" : "false", stats.calls, calls_same,
        stats.checkpoints, cps_same, unsupported, json_escape(identical ? "" : first).c_str());
  } else {
    std::printf("%ld/%ld calls identical, %ld/%ld checkpoints identical\n", calls_same, stats.calls,
                cps_same, stats.checkpoints);
    if (unsupported)
      std::printf("%ld calls in the trace are marked unsupported and were not replayed\n",
                  unsupported);
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

}  // namespace vmspace_cli
