// `vmspace run`: parse a script completely, then run it in a sandbox directory.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tools/vmspace/commands.hpp"
#include "tools/vmspace/examples.hpp"
#include "trace/runner.hpp"
#include "trace/script.hpp"
#include "vmspace/system.hpp"

namespace vmspace_cli {

std::string make_sandbox(const char *what) {
  const char *tmpdir = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/vmspace-" + what + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    std::fprintf(stderr, "vmspace %s: cannot create a sandbox directory in %s: %s\n", what,
                 tmpdir && *tmpdir ? tmpdir : "/tmp", std::strerror(errno));
    return "";
  }
  return buf.data();
}

int cmd_run(const std::vector<std::string> &args) {
  std::string root, script_path, example;
  vmspace::ParseOptions popts;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string &a = args[i];
    if (a == "--root" && i + 1 < args.size()) {
      root = args[++i];
    } else if (a == "--ignore-unknown") {
      popts.ignore_unknown = true;
    } else if (a == "--example" && i + 1 < args.size()) {
      example = args[++i];
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::fprintf(stderr, "vmspace run: unknown option '%s'\n", a.c_str());
      return 2;
    } else {
      break;
    }
  }
  std::string text;
  std::string name;
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
      std::fprintf(stderr, "usage: vmspace run [--root DIR] [--ignore-unknown] SCRIPT\n");
      return 2;
    }
    script_path = args[i];
    std::stringstream ss;
    if (script_path == "-") {
      ss << std::cin.rdbuf();
      name = "<stdin>";
    } else {
      std::ifstream in(script_path);
      if (!in) {
        std::fprintf(stderr, "%s:1:1: cannot read the script\n", script_path.c_str());
        return 2;
      }
      ss << in.rdbuf();
      name = script_path;
    }
    text = ss.str();
  }

  vmspace::Script script;
  std::string error;
  std::string script_dir = ".";
  if (!script_path.empty() && script_path != "-") {
    std::filesystem::path p(script_path);
    script_dir = p.has_parent_path() ? p.parent_path().string() : ".";
  }
  if (!vmspace::parse_script(text, name, popts, &script, &error) ||
      !vmspace::check_script(script, &error) ||
      !vmspace::load_layout_files(script, script_dir, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }

  // The sandbox: a fresh temporary directory unless --root names one.
  bool temp = root.empty();
  if (temp) {
    root = make_sandbox("run");
    if (root.empty()) return 2;
  } else {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "vmspace run: --root %s is not a directory\n", root.c_str());
      return 2;
    }
  }

  int status;
  {
    vmspace::SystemConfig cfg;
    cfg.root_dir = root;
    vmspace::System sys(cfg);
    vmspace::RunOptions ropts;
    ropts.script_dir = script_dir;
    status = vmspace::run_script(script, sys, ropts);
  }
  if (temp) {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  return status;
}

}  // namespace vmspace_cli
