// `vmspace run`: check a script completely, then run it in a sandbox directory.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "tools/vmspace/commands.hpp"
#include "tools/vmspace/examples.hpp"
#include "tools/vmspace/input.hpp"
#include "trace/runner.hpp"
#include "trace/sandboxed.hpp"
#include "trace/script.hpp"
#include "trace/script_check.hpp"
#include "trace/script_fs.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

namespace {
constexpr const char *kUsage =
    "usage: vmspace run [--root DIR] [--max-memory BYTES] [--ignore-unknown] SCRIPT\n"
    "       vmspace run --example tour\n";

// Everything a run can refuse before it starts: the whole script parsed and checked, every
// @layout FILE read. False with "file:line:col: message" in *error.
bool check_all(std::string_view text, const std::string &name, const vmspace::ParseOptions &popts,
               const std::string &script_dir, std::string *error) {
  vmspace::ScriptReader reader(text, name, popts);
  vmspace::ScriptChecker checker(name);
  vmspace::Stmt st;
  std::string layout;
  while (reader.next(&st)) {
    if (!checker.check(st, error)) return false;
    if (st.kind == vmspace::Stmt::Dir && st.dir.name == "layout" && !st.dir.has_block) {
      std::string e;
      if (!vmspace::read_layout_file(st.dir.words[0], script_dir, &layout, &e)) {
        *error = vmspace::where(name, st.loc) + ": @layout: " + e;
        return false;
      }
    }
  }
  *error = reader.error();
  return error->empty();
}
}  // namespace

int cmd_run(const std::vector<std::string> &args) {
  std::string root, script_path, example;
  uint64_t max_memory = vmspace::default_max_memory();
  vmspace::ParseOptions popts;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string &a = args[i];
    if (a == "--root" && i + 1 < args.size()) {
      root = args[++i];
    } else if (a == "--max-memory" && i + 1 < args.size()) {
      if (!vmspace::parse_size(args[++i], &max_memory)) {
        std::fprintf(stderr, "vmspace run: --max-memory takes a size (BYTES, or with K, M, G)\n");
        return 2;
      }
    } else if (a == "--ignore-unknown") {
      popts.ignore_unknown = true;
    } else if (a == "--example" && i + 1 < args.size()) {
      example = args[++i];
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::fprintf(stderr, "vmspace run: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      break;
    }
  }
  InputText input;
  std::string_view text;
  std::string name;
  std::string script_dir = ".";
  std::string error;
  if (!example.empty()) {
    const char *t = builtin_example(example);
    if (!t) {
      std::fprintf(stderr, "vmspace run: no built-in example '%s' (try 'tour')\n", example.c_str());
      return 2;
    }
    text = t;
    name = "<example:" + example + ">";
    if (i != args.size()) {
      std::fprintf(stderr, "vmspace run: --example takes no script\n");
      return 2;
    }
  } else {
    if (i + 1 != args.size()) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    script_path = args[i];
    if (!input.open(script_path, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 2;
    }
    text = input.text();
    name = script_path == "-" ? "<stdin>" : script_path;
    if (script_path != "-") {
      std::filesystem::path p(script_path);
      script_dir = p.has_parent_path() ? p.parent_path().string() : ".";
    }
  }

  // Nothing runs before the whole script is known to be good; the run itself reads it again
  // statement by statement, so its length costs no memory.
  if (!check_all(text, name, popts, script_dir, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  return vmspace::run_sandboxed("run", root, max_memory, [&](const std::string &sandbox) {
    vmspace::SystemConfig cfg;
    cfg.max_memory = max_memory;
    vmspace::ScriptFsOptions fso;
    fso.root = sandbox;
    vmspace::RunOptions ropts;
    std::unique_ptr<vmspace::System> sys = vmspace::make_script_system(cfg, fso, &ropts.fs);
    ropts.script_dir = script_dir;
    vmspace::ScriptReader reader(text, name, popts);
    std::string e;
    const vmspace::RunStatus status =
        vmspace::run_stream(reader, name, text.size(), *sys, ropts, &e);
    if (!e.empty()) std::fprintf(stderr, "%s\n", e.c_str());
    return static_cast<int>(status);
  });
}

}  // namespace vmspace_cli
