// The exec check: real ELF binaries started by the host kernel (ASLR off, stopped by ptrace
// right after execve) and by vmspace's execve; the initial /proc/PID/maps, the VmFlags of
// every VMA, the /proc/PID/status memory and RSS lines, the mm fields of /proc/PID/stat
// (start_code, end_code, start_data, end_data, start_brk, start_stack) and the initial stack's
// bytes from start_stack to its top (argc, argv, envp, the auxiliary vector, the strings; all
// but AT_RANDOM's 16 bytes) must be identical. Failing
// execs (ENOENT, EACCES, ENOEXEC, E2BIG, ...) must fail with the kernel's errno.
//
// Usage: vmspace-exec-check [-v] DIR   (DIR holds the test binaries the build made)
#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mm/address_space.hpp"
#include "proc/maps.hpp"
#include "vmspace/process.hpp"
#include "vmspace/system.hpp"

namespace {

struct Case {
  std::string label;
  std::string path;
  std::vector<std::string> argv, envp;
  uint64_t rlimit_stack = 8ull << 20;
  bool optional = false;  // a binary the machine may not have
};

struct Image {
  int err = 0;  // execve's errno, 0 on success
  std::string maps, vmflags, status, mm;
  std::string rss;    // VmRSS, RssAnon, RssFile, RssShmem: the pages execve touched
  std::string stack;  // the initial stack from start_stack to its top, as a hex dump
};

// The RSS lines of a status text.
std::string rss_lines(const std::string &status) {
  std::istringstream in(status);
  std::string line, out;
  while (std::getline(in, line))
    if (line.compare(0, 6, "VmRSS:") == 0 || line.compare(0, 3, "Rss") == 0) out += line + "\n";
  return out;
}

// The end of the [stack] VMA in a maps text.
uint64_t stack_end(const std::string &maps) {
  std::istringstream in(maps);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > 7 && line.compare(line.size() - 7, 7, "[stack]") == 0)
      return std::strtoull(line.c_str() + line.find('-') + 1, nullptr, 16);
  return 0;
}

// The initial stack from sp up as hex lines; AT_RANDOM's 16 bytes (entropy on the kernel's
// side, a seed's on vmspace's) become "..".
std::string stack_dump(const std::vector<uint8_t> &b, uint64_t sp) {
  std::vector<bool> mask(b.size(), false);
  auto word = [&](size_t i) {
    uint64_t w = 0;
    if ((i + 1) * 8 <= b.size()) std::memcpy(&w, b.data() + i * 8, 8);
    return w;
  };
  size_t i = 1 + word(0) + 1;               // argc, argv[], NULL
  while (i * 8 < b.size() && word(i)) i++;  // envp[]
  for (i++; (i + 1) * 8 <= b.size() && word(i); i += 2)
    if (word(i) == 25 /* AT_RANDOM */ && word(i + 1) >= sp)
      for (uint64_t k = word(i + 1) - sp; k < word(i + 1) - sp + 16 && k < b.size(); k++)
        mask[k] = true;
  std::string out;
  char buf[32];
  for (size_t at = 0; at < b.size(); at += 16) {
    std::snprintf(buf, sizeof buf, "%06zx:", at);
    out += buf;
    for (size_t k = at; k < at + 16 && k < b.size(); k++) {
      if (mask[k]) {
        out += " ..";
      } else {
        std::snprintf(buf, sizeof buf, " %02x", b[k]);
        out += buf;
      }
    }
    out += "\n";
  }
  return out;
}

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string mm_line(uint64_t sc, uint64_t ec, uint64_t sd, uint64_t ed, uint64_t sb, uint64_t ss) {
  char buf[240];
  std::snprintf(buf, sizeof buf,
                "start_code=%llx end_code=%llx start_data=%llx end_data=%llx start_brk=%llx "
                "start_stack=%llx\n",
                static_cast<unsigned long long>(sc), static_cast<unsigned long long>(ec),
                static_cast<unsigned long long>(sd), static_cast<unsigned long long>(ed),
                static_cast<unsigned long long>(sb), static_cast<unsigned long long>(ss));
  return buf;
}

std::vector<char *> cstrs(std::vector<std::string> &v) {
  std::vector<char *> out;
  for (std::string &s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The kernel's answer: the child execs under PTRACE_TRACEME and stops with SIGTRAP.
Image kernel_image(Case c) {
  Image im;
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) return im;
  std::vector<char *> argv = cstrs(c.argv), envp = cstrs(c.envp);
  pid_t pid = ::fork();
  if (pid == 0) {
    struct rlimit rl = {c.rlimit_stack, RLIM_INFINITY};
    ::setrlimit(RLIMIT_STACK, &rl);
    ::personality(ADDR_NO_RANDOMIZE);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::execve(c.path.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!::write(errpipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(errpipe[1]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  int e = 0;
  if (::read(errpipe[0], &e, sizeof e) == static_cast<ssize_t>(sizeof e)) im.err = e;
  ::close(errpipe[0]);
  if (WIFSTOPPED(st)) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/";
    im.maps = slurp(dir + "maps");
    std::istringstream sm(slurp(dir + "smaps"));
    std::string line, range;
    while (std::getline(sm, line)) {
      size_t i = 0;
      while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) i++;
      if (i > 0 && i < line.size() && line[i] == '-')
        range = line.substr(0, line.find(' '));
      else if (line.compare(0, 9, "VmFlags: ") == 0 && range.compare(0, 8, "ffffffff") != 0)
        im.vmflags += range + " " + line.substr(9) + "\n";
    }
    const std::string status = slurp(dir + "status");
    im.status = vmspace::vm_status_lines(status);
    im.rss = rss_lines(status);
    std::string stat = slurp(dir + "stat");
    std::istringstream fs(stat.substr(stat.rfind(')') + 2));
    std::vector<uint64_t> f(3, 0);  // fields 1-2 are pid and comm
    std::string w;
    while (fs >> w) f.push_back(std::strtoull(w.c_str(), nullptr, 10));
    if (f.size() > 47) im.mm = mm_line(f[26], f[27], f[45], f[46], f[47], f[28]);
    // The stack through /proc/PID/mem (the tracer may read it).
    const uint64_t sp = f.size() > 28 ? f[28] : 0, top = stack_end(im.maps);
    if (sp && top > sp && top - sp < (1u << 20)) {
      std::vector<uint8_t> bytes(top - sp);
      const int fd = ::open((dir + "mem").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && ::pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(sp)) ==
                         static_cast<ssize_t>(bytes.size()))
        im.stack = stack_dump(bytes, sp);
      if (fd >= 0) ::close(fd);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
  }
  return im;
}

Image vmspace_image(const Case &c, const std::string &sandbox) {
  vmspace::SystemConfig cfg;
  cfg.root_dir = sandbox;
  vmspace::System sys(cfg);
  vmspace::SpawnOptions so;
  so.rlimit_stack = c.rlimit_stack;
  vmspace::Process p = sys.spawn(so);
  const int pid = p.pid();
  Image im;
  vmspace::Result<void> r = p.execve(c.path, c.argv, c.envp);
  if (!r) {
    im.err = static_cast<int>(r.error());
    return im;
  }
  if (!sys.process(pid)) return im;
  im.maps = p.maps();
  char buf[64];
  for (const vmspace::VmaInfo &v : p.vmas()) {
    std::snprintf(buf, sizeof buf, "%08llx-%08llx ", static_cast<unsigned long long>(v.start),
                  static_cast<unsigned long long>(v.end));
    im.vmflags += buf + vmspace::render_vm_flags(v.flags) + "\n";
  }
  const std::string status = p.status();
  im.status = vmspace::vm_status_lines(status);
  im.rss = rss_lines(status);
  const vmspace::MmLayout mm = p.layout();
  const uint64_t top = stack_end(im.maps);
  if (mm.start_stack && top > mm.start_stack && top - mm.start_stack < (1u << 20)) {
    std::vector<uint8_t> bytes(top - mm.start_stack);
    if (!p.read(mm.start_stack, bytes.data(), bytes.size()))
      im.stack = stack_dump(bytes, mm.start_stack);
  }
  im.mm =
      mm_line(mm.start_code, mm.end_code, mm.start_data, mm.end_data, mm.start_brk, mm.start_stack);
  std::string why;
  if (!p.validate(&why)) im.mm += "invariant broken: " + why + "\n";
  return im;
}

bool same(const char *what, const std::string &k, const std::string &v, bool verbose) {
  if (k == v) return true;
  std::printf("  %s differ:\n--- kernel\n%s--- vmspace\n%s", what, k.c_str(), v.c_str());
  (void)verbose;
  return false;
}

}  // namespace

int main(int argc, char **argv) {
  bool verbose = false;
  std::string dir;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "-v") == 0)
      verbose = true;
    else
      dir = argv[i];
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: vmspace-exec-check [-v] DIR\n");
    return 2;
  }
  dir = std::filesystem::absolute(dir).lexically_normal().string();
  char tmpl[] = "/tmp/vmspace-exec-XXXXXX";
  if (!::mkdtemp(tmpl)) return 2;
  const std::string sandbox = tmpl;
  // Files for the failure cases: not executable, not ELF, a directory.
  {
    std::ofstream(sandbox + "/noexec.bin") << "\x7f"
                                              "ELF";
    ::chmod((sandbox + "/noexec.bin").c_str(), 0644);
    std::ofstream(sandbox + "/garbage") << "this is not a program\n";
    ::chmod((sandbox + "/garbage").c_str(), 0755);
    std::ofstream(sandbox + "/short") << "\x7f"
                                         "ELF\x02\x01\x01";
    ::chmod((sandbox + "/short").c_str(), 0755);
    std::filesystem::create_directory(sandbox + "/adir");
    // "#!" scripts, handled by binfmt_script before the ELF loader.
    auto script = [&](const char *name, const std::string &text) {
      std::ofstream(sandbox + "/" + name) << text;
      ::chmod((sandbox + "/" + name).c_str(), 0755);
    };
    script("script-sh", "#!/bin/sh\nexit 0\n");
    script("script-arg", "#!  /usr/bin/env   -i  A=1 \t\nignored\n");
    script("script-nested", "#!" + sandbox + "/script-sh\n");
    script("script-missing", "#!/nonexistent/interpreter\n");
    script("script-empty", "#!   \n");
    script("script-long", "#!/usr/bin/true " + std::string(300, 'x'));
    script("script-loop", "#!" + sandbox + "/script-loop\n");
  }
  const std::vector<std::string> env1 = {"A=1"};
  const std::vector<std::string> env_std = {"HOME=/root", "PATH=/usr/local/bin:/usr/bin:/bin",
                                            "LANG=C", "TERM=dumb"};
  std::vector<Case> cases = {
      {"dynamic PIE /usr/bin/true", "/usr/bin/true", {"true"}, env1},
      {"/usr/bin/true, argc 0", "/usr/bin/true", {}, env1},
      {"/usr/bin/true, no environment", "/usr/bin/true", {"true"}, {}},
      {"/usr/bin/true, 40 KiB of environment",
       "/usr/bin/true",
       {"true"},
       {std::string(20000, 'x'), "B=" + std::string(20000, 'y')}},
      {"/usr/bin/true, RLIMIT_STACK 64 MiB", "/usr/bin/true", {"true"}, env1, 64ull << 20},
      {"/usr/bin/true, RLIMIT_STACK 256 KiB", "/usr/bin/true", {"true"}, env1, 256ull << 10},
      {"/usr/bin/true, RLIMIT_STACK unlimited (legacy layout)",
       "/usr/bin/true",
       {"true"},
       env1,
       RLIM_INFINITY},
      {"ls", "/usr/bin/ls", {"ls", "-l", "/usr/lib"}, env_std},
      {"bash", "/usr/bin/bash", {"bash", "-c", "exit 0"}, env_std},
      {"env", "/usr/bin/env", {"env"}, env_std},
      {"sort", "/usr/bin/sort", {"sort", "/dev/null"}, env_std},
      {"python3", "/usr/bin/python3", {"python3", "-c", "pass"}, env_std, 8ull << 20, true},
      {"perl", "/usr/bin/perl", {"perl", "-e", "1"}, env_std, 8ull << 20, true},
      {"cmake", "/usr/bin/cmake", {"cmake", "--version"}, env_std, 8ull << 20, true},
      {"ld.so run directly", "/lib64/ld-linux-x86-64.so.2", {"ld.so", "/usr/bin/true"}, env_std},
      {"freestanding static non-PIE (the oracle)", dir + "/vmspace-oracle", {"oracle"}, env1},
      {"static non-PIE", dir + "/exec-static", {"p"}, env1},
      {"static PIE", dir + "/exec-static-pie", {"p"}, env1},
      {"dynamic non-PIE", dir + "/exec-nopie", {"p"}, env1},
      {"dynamic PIE, executable stack", dir + "/exec-execstack", {"p"}, env1},
      {"dynamic PIE, large bss", dir + "/exec-bigbss", {"p"}, env1},
      {"static PIE, 2 MiB segment alignment", dir + "/exec-static-pie-2m", {"p"}, env1},
      {"dynamic PIE, 2 MiB segment alignment", dir + "/exec-pie-2m", {"p"}, env1},
      {"#! script run by /bin/sh", sandbox + "/script-sh", {"script-sh", "a", "b"}, env1},
      {"#! script with an interpreter argument", sandbox + "/script-arg", {"s"}, env1},
      {"#! script whose interpreter is a script", sandbox + "/script-nested", {"n"}, env1},
      {"#! script, argc 0", sandbox + "/script-sh", {}, env1},
      {"#! line longer than 256 bytes", sandbox + "/script-long", {"l"}, env1},
      {"ENOENT: #! interpreter missing", sandbox + "/script-missing", {"m"}, env1},
      {"ENOEXEC: #! without an interpreter", sandbox + "/script-empty", {"e"}, env1},
      {"ELOOP: #! script interpreting itself", sandbox + "/script-loop", {"l"}, env1},
      {"ENOENT", sandbox + "/missing", {"x"}, env1},
      {"EACCES: no execute permission", sandbox + "/noexec.bin", {"x"}, env1},
      {"EACCES: a directory", sandbox + "/adir", {"x"}, env1},
      {"ENOEXEC: not ELF", sandbox + "/garbage", {"x"}, env1},
      {"ENOEXEC: short ELF header", sandbox + "/short", {"x"}, env1},
      {"E2BIG: one argument over 128 KiB",
       "/usr/bin/true",
       {"true", std::string(131072, 'a')},
       env1},
      {"E2BIG: arguments over a quarter of RLIMIT_STACK",
       "/usr/bin/true",
       {"true", std::string(100000, 'a'), std::string(100000, 'b'), std::string(100000, 'c')},
       env1,
       1ull << 20},
  };
  struct utsname u;
  ::uname(&u);
  std::printf("exec-check: comparing with %s %s\n", u.sysname, u.release);
  int failed = 0, compared = 0, binaries = 0, skipped = 0;
  std::vector<std::string> seen;
  for (const Case &c : cases) {
    if (c.optional && ::access(c.path.c_str(), X_OK) != 0) {
      // scripts/test.sh (CI) sets VMSPACE_REQUIRE_TOOLS: setup.sh installed these binaries.
      if (std::getenv("VMSPACE_REQUIRE_TOOLS")) {
        std::printf("FAIL  %s (%s is not installed; VMSPACE_REQUIRE_TOOLS is set)\n",
                    c.label.c_str(), c.path.c_str());
        failed++;
      } else {
        std::printf("SKIP  %s (%s is not installed)\n", c.label.c_str(), c.path.c_str());
        skipped++;
      }
      continue;
    }
    Image k = kernel_image(c);
    Image v = vmspace_image(c, sandbox);
    bool ok = true;
    if (k.err != v.err) {
      std::printf("FAIL  %s: execve errno kernel %d, vmspace %d\n", c.label.c_str(), k.err, v.err);
      ok = false;
    } else if (!k.err) {
      if (k.maps.empty()) {
        std::printf("FAIL  %s: the kernel side did not stop after execve\n", c.label.c_str());
        ok = false;
      } else {
        ok &= same("maps", k.maps, v.maps, verbose);
        ok &= same("VmFlags", k.vmflags, v.vmflags, verbose);
        ok &= same("status", k.status, v.status, verbose);
        ok &= same("mm fields", k.mm, v.mm, verbose);
        ok &= same("RSS", k.rss, v.rss, verbose);
        ok &= same("initial stack", k.stack.empty() ? "(unread)\n" : k.stack, v.stack, verbose);
      }
    }
    compared++;
    const bool script = c.path.find("/script-") != std::string::npos;
    if (!k.err && ok && !script && std::find(seen.begin(), seen.end(), c.path) == seen.end()) {
      seen.push_back(c.path);
      binaries++;
    }
    if (!ok) failed++;
    std::printf("%s  %s%s\n", ok ? "ok  " : "FAIL", c.label.c_str(),
                k.err ? (std::string(" (") + std::strerror(k.err) + ")").c_str() : "");
    if (ok && verbose) std::printf("%s%s", v.maps.c_str(), v.status.c_str());
  }
  std::filesystem::remove_all(sandbox);
  std::printf(
      "exec-check: %d cases, %d distinct ELF binaries laid out identically, %d failed, %d "
      "skipped\n",
      compared, binaries, failed, skipped);
  if (binaries < 10) {
    std::printf("exec-check: fewer than 10 binaries compared\n");
    return 1;
  }
  return failed ? 1 : 0;
}
