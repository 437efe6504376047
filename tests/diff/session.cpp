// A differential session. See session.hpp.
#include "session.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "trace/symbols.hpp"

namespace difftest {

using vmspace::ArgVal;

bool operator==(const Answer &a, const Answer &b) {
  if (a.ok != b.ok) return false;
  return a.ok ? a.value == b.value : a.err == b.err;
}

const std::vector<FileSpec> &session_files() {
  static const std::vector<FileSpec> files = {
      {"f_empty", 0, 0666},   {"f_page", 4096, 0666},  {"f_5000", 5000, 0666},
      {"f_64k", 65536, 0666}, {"f_4m", 4 << 20, 0666}, {"f_ro", 8192, 0444},
      {"f_wo", 4096, 0222},
  };
  return files;
}

bool prepare_dir(const std::string &dir, std::string *error) {
  ::chmod(dir.c_str(), 0777);
  for (const FileSpec &f : session_files()) {
    std::string p = dir + "/" + f.name;
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(f.size)) != 0) {
      *error = "cannot create " + p;
      if (fd >= 0) ::close(fd);
      return false;
    }
    ::fchmod(fd, f.mode);
    ::close(fd);
  }
  ::mkdir((dir + "/dir").c_str(), 0777);
  ::mkfifo((dir + "/fifo").c_str(), 0666);
  return true;
}

bool Session::start(const std::string &oracle_path, const std::string &dir, bool privileged,
                    bool prepare, std::string *error) {
  privileged_ = privileged;
  kdir_ = dir + "/k";
  vdir_ = dir + "/v";
  ::chmod(dir.c_str(), 0777);
  for (const std::string &d : {kdir_, vdir_}) {
    if (::mkdir(d.c_str(), 0777) != 0 || ::chmod(d.c_str(), 0777) != 0) {
      *error = "cannot create " + d;
      return false;
    }
    if (prepare && !prepare_dir(d, error)) return false;
  }
  OracleOptions o;
  o.oracle_path = oracle_path;
  o.dir = kdir_;
  o.privileged = privileged;
  if (!oracle_.start(o, error)) return false;

  // The oracle's layout, with VmFlags and Anonymous lines so the import is exact.
  std::istringstream in(oracle_.smaps());
  std::string line, layout;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) i++;
    bool header = i > 0 && i < line.size() && line[i] == '-';
    if (header || line.compare(0, 8, "VmFlags:") == 0 || line.compare(0, 10, "Anonymous:") == 0)
      layout += line + "\n";
  }
  // start_brk is not in maps; /proc/PID/stat has it (field 47).
  {
    std::ifstream st("/proc/" + std::to_string(oracle_.pid()) + "/stat");
    std::string all((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    size_t rp = all.rfind(')');
    std::istringstream fields(rp == std::string::npos ? "" : all.substr(rp + 2));
    std::string f;
    for (int i = 3; i <= 47 && (fields >> f); i++)
      if (i == 47) layout += "brk " + f + " " + f + "\n";
  }
  layout_ = layout;

  vmspace::SystemConfig cfg;
  cfg.root_dir = vdir_;
  sys_ = std::make_unique<vmspace::System>(cfg);
  vmspace::SpawnOptions so;
  so.kernel_mappings = false;
  so.privileged = privileged;
  proc_ = &sys_->spawn(so);
  if (!proc_->import_layout(layout_, error)) {
    *error = "cannot import the oracle's layout: " + *error;
    return false;
  }
  // The oracle's pipes sit at 100 and 101; occupy the same numbers.
  (void)proc_->dup2(0, 100);
  (void)proc_->dup2(0, 101);

  protected_.clear();
  for (const vmspace::VmaInfo &v : proc_->vmas()) {
    if (v.name == "[stack]" || v.start < 0x1000000) protected_.push_back({v.start, v.end});
  }
  return true;
}

namespace {
long syscall_nr(const std::string &name) {
  static const std::map<std::string, long> nrs = {
      {"mmap", 9},     {"mprotect", 10},  {"munmap", 11},        {"open", 2},
      {"openat", 257}, {"close", 3},      {"dup", 32},           {"dup2", 33},
      {"dup3", 292},   {"ftruncate", 77}, {"memfd_create", 319},
  };
  auto it = nrs.find(name);
  return it == nrs.end() ? -1 : it->second;
}

Answer from_kernel(long r) {
  Answer a;
  if (r < 0 && r > -4096) {
    a.ok = false;
    a.err = static_cast<int>(-r);
  } else {
    a.value = static_cast<uint64_t>(r);
  }
  return a;
}
}  // namespace

Answer Session::kernel(const Op &op) {
  switch (op.kind) {
    case Op::Call: {
      const vmspace::CallDef *def = vmspace::find_call(op.name);
      long args[6] = {};
      int str_arg = -1;
      std::string str;
      for (size_t i = 0; i < op.args.size(); i++) {
        if (def->args[i] == vmspace::ArgFmt::path) {
          str_arg = static_cast<int>(i);
          str = op.args[i].s;
        } else {
          args[i] = static_cast<long>(op.args[i].v);
        }
      }
      return from_kernel(oracle_.syscall(syscall_nr(op.name), args, str_arg, str));
    }
    case Op::Touch: {
      long r = oracle_.touch(op.addr, op.len, op.write);
      Answer a;
      if (r == -10000) {
        a.ok = false;
        a.err = -1;  // the oracle died (a fault signal)
      }
      return a;
    }
    case Op::Fill:
      return from_kernel(oracle_.fill(op.addr, op.len));
    case Op::Rlimit: {
      uint64_t lim[2] = {op.soft, op.hard};
      std::string buf(reinterpret_cast<const char *>(lim), sizeof lim);
      long args[6] = {0, op.resource, 0, 0, 0, 0};
      return from_kernel(oracle_.syscall(302 /* prlimit64 */, args, 2, buf));
    }
  }
  return {};
}

Answer Session::vmspace(const Op &op) {
  Answer a;
  switch (op.kind) {
    case Op::Call: {
      const vmspace::CallDef *def = vmspace::find_call(op.name);
      vmspace::CallOutcome o = def->exec(*proc_, op.args);
      a.ok = o.ok;
      a.value = o.value;
      a.err = static_cast<int>(o.err);
      return a;
    }
    case Op::Touch: {
      vmspace::Fault f = proc_->touch(op.addr, op.len, op.write);
      if (f) {
        a.ok = false;
        a.err = -1;
      }
      return a;
    }
    case Op::Fill: {
      auto r = proc_->mmap(op.addr, op.len * 4096, 3, 0x32, ~0ull, 0);
      if (!r) return Answer{false, 0, static_cast<int>(r.error())};
      // The oracle answers -1 (read as -EPERM) when one of the mprotect calls fails.
      for (uint64_t i = 1; i < op.len; i += 2)
        if (!proc_->mprotect(op.addr + i * 4096, 4096, 1)) return Answer{false, 0, 1};
      a.value = *r;
      return a;
    }
    case Op::Rlimit: {
      auto r = proc_->set_rlimit(op.resource, op.soft, op.hard);
      if (!r) return Answer{false, 0, static_cast<int>(r.error())};
      return a;
    }
  }
  return a;
}

std::string normalize_maps(const std::string &maps, const std::string &dir) {
  std::map<std::string, int> seen;
  std::istringstream in(maps);
  std::string line, out;
  while (std::getline(in, line)) {
    size_t at = line.find(dir + "/");
    const bool sandbox = at != std::string::npos;
    if (sandbox) line.replace(at, dir.size(), "$ROOT");
    // start-end perms offset dev inode name
    size_t p = 0;
    for (int f = 0; f < 3 && p != std::string::npos; f++) p = line.find(' ', p + 1);
    if (p != std::string::npos) {
      size_t dev_b = p + 1, dev_e = line.find(' ', dev_b);
      if (dev_e != std::string::npos) {
        std::string dev = line.substr(dev_b, dev_e - dev_b);
        if (dev == "00:01" || dev == "00:11" || dev == "00:12" || sandbox) {
          size_t ino_e = line.find(' ', dev_e + 1);
          std::string ino = line.substr(dev_e + 1, ino_e - dev_e - 1);
          std::string key = dev + " " + ino;
          if (!seen.count(key)) seen[key] = static_cast<int>(seen.size()) + 1;
          std::string repl = std::to_string(seen[key]);
          // Keep the name column where it was.
          std::string rest = ino_e == std::string::npos ? "" : line.substr(ino_e);
          size_t pad = ino.size() > repl.size() ? ino.size() - repl.size() : 0;
          line = line.substr(0, dev_e + 1) + repl + std::string(pad, ' ') + rest;
        }
      }
    }
    out += line + "\n";
  }
  return out;
}

std::string Session::kernel_maps() { return normalize_maps(oracle_.maps(), kdir_); }
std::string Session::vmspace_maps() { return normalize_maps(proc_->maps(), vdir_); }

std::string op_to_script(const Op &op, const Answer &k) {
  std::string line;
  switch (op.kind) {
    case Op::Call: {
      const vmspace::CallDef *def = vmspace::find_call(op.name);
      vmspace::CallOutcome o;
      o.ok = k.ok;
      o.value = k.value;
      o.err = static_cast<vmspace::Errno>(k.err);
      std::string call = vmspace::format_call(*def, op.args);
      if (call.size() < 39) call.append(39 - call.size(), ' ');
      return call + " = " + vmspace::format_result(*def, o);
    }
    case Op::Touch:
      return std::string("@touch ") + vmspace::fmt_hex(op.addr) + " " + std::to_string(op.len) +
             (op.write ? " write" : " read") + (k.ok ? "" : "  # the kernel raised a fault");
    case Op::Fill:
      return "# fill " + vmspace::fmt_hex(op.addr) + " " + std::to_string(op.len) + " pages";
    case Op::Rlimit:
      return "@rlimit " + vmspace::fmt_rlimit_resource(static_cast<uint64_t>(op.resource)) + " " +
             std::to_string(op.soft) + " " + std::to_string(op.hard) + (k.ok ? "" : "  # refused");
  }
  return line;
}

}  // namespace difftest
