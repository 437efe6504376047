// A differential session. See session.hpp.
#include "session.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <algorithm>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "proc/maps.hpp"
#include "trace/memory_directives.hpp"
#include "trace/symbols.hpp"

namespace difftest {

using vmspace::ArgVal;

bool operator==(const Answer &a, const Answer &b) {
  if (a.ok != b.ok) return false;
  if (a.ok) return a.value == b.value && a.bytes == b.bytes;
  return a.err == b.err && a.code == b.code && a.fault_addr == b.fault_addr;
}

const std::vector<FileSpec> &session_files() {
  static const std::vector<FileSpec> files = {
      {"f_empty", 0, 0666},   {"f_page", 4096, 0666},  {"f_5000", 5000, 0666},
      {"f_64k", 65536, 0666}, {"f_4m", 4 << 20, 0666}, {"f_ro", 8192, 0444},
      {"f_wo", 4096, 0222},
  };
  return files;
}

bool make_session_file(const std::string &p, const FileSpec &f, std::string *error) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(f.size)) != 0) {
    *error = "cannot create " + p;
    if (fd >= 0) ::close(fd);
    return false;
  }
  // Contents the loads can tell apart: a pattern that differs per file and per page.
  std::string bytes(f.size < 65536 ? f.size : 65536, '\0');
  for (size_t i = 0; i < bytes.size(); i++)
    bytes[i] = static_cast<char>((i * 131 + (i >> 12) * 7 + f.name[2]) & 0xff);
  // Page by page: the kernel's page cache then holds 4 KiB folios, as vmspace models it (a
  // single large write makes a large folio, whose truncation and fault-around differ:
  // docs/linux-facts.md, "Large folios").
  for (size_t at = 0; at < bytes.size(); at += 4096) {
    const size_t n = std::min<size_t>(4096, bytes.size() - at);
    if (::pwrite(fd, bytes.data() + at, n, static_cast<off_t>(at)) < 0) {
      *error = "cannot write " + p;
      ::close(fd);
      return false;
    }
  }
  ::fchmod(fd, f.mode);
  ::close(fd);
  return true;
}

bool prepare_dir(const std::string &dir, std::string *error) {
  ::chmod(dir.c_str(), 0777);
  for (const FileSpec &f : session_files())
    if (!make_session_file(dir + "/" + f.name, f, error)) return false;
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
  // Each session runs its own copy of the oracle: the pages of a binary that another
  // session's oracle runs at the same time (ctest -j) would be shared between the two, and
  // smaps would count them so.
  const std::string own = dir + "/oracle";
  std::error_code ec;
  std::filesystem::copy_file(oracle_path, own, ec);
  if (ec || ::chmod(own.c_str(), 0755) != 0) {
    *error = "cannot copy the oracle to " + own;
    return false;
  }
  OracleOptions o;
  o.oracle_path = own;
  o.dir = kdir_;
  o.privileged = privileged;
  if (!oracle_.start(o, error)) return false;

  // The oracle's layout, with VmFlags and Anonymous lines so the import is exact.
  std::istringstream in(oracle_.smaps(0));
  std::string line, layout;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) i++;
    bool header = i > 0 && i < line.size() && line[i] == '-';
    if (header || line.compare(0, 8, "VmFlags:") == 0 || line.compare(0, 10, "Anonymous:") == 0 ||
        line.compare(0, 4, "Rss:") == 0)
      layout += line + "\n";
  }
  // The mm_struct fields maps does not show: /proc/PID/stat has them (fields 26-28, 45-47),
  // and VmPeak of status is the high-water mark of total_vm.
  {
    std::string all = oracle_.stat(0);
    size_t rp = all.rfind(')');
    std::istringstream fields(rp == std::string::npos ? "" : all.substr(rp + 2));
    std::string f;
    const std::map<int, const char *> wanted = {{26, "start_code"},
                                                {27, "end_code"},
                                                {28, "start_stack"},
                                                {45, "start_data"},
                                                {46, "end_data"}};
    for (int i = 3; i <= 47 && (fields >> f); i++) {
      auto w = wanted.find(i);
      if (w != wanted.end()) layout += std::string("mm ") + w->second + " " + f + "\n";
      if (i == 47) layout += "brk " + f + " " + f + "\n";
    }
    std::istringstream st(oracle_.status(0));
    while (std::getline(st, line)) {
      unsigned long long kb;
      if (std::sscanf(line.c_str(), "VmPeak: %llu kB", &kb) == 1)
        layout += "mm hiwater_vm " + std::to_string(kb / 4) + "\n";
      if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &kb) == 1)
        layout += "mm hiwater_rss " + std::to_string(kb / 4) + "\n";
    }
  }
  layout_ = layout;

  vmspace::SystemConfig cfg;
  cfg.root_dir = vdir_;
  cfg.zero_page = host_kernel().zero_page;
  cfg.gigantic_pages = host_kernel().gigantic_pages;
  cfg.read_ahead_kb = host_kernel().read_ahead_kb;
  sys_ = std::make_unique<vmspace::System>(cfg);
  vmspace::SpawnOptions so;
  so.kernel_mappings = false;
  so.privileged = privileged;
  procs_[0] = sys_->spawn(so);
  if (!procs_[0].import_layout(layout_, error)) {
    *error = "cannot import the oracle's layout: " + *error;
    return false;
  }
  // The oracle's pipes sit at 100..107; occupy the same numbers.
  for (int fd = 100; fd < 100 + 2 * kSlots; fd++)
    (void)procs_[0].dup2(0, static_cast<uint64_t>(fd));

  protected_.clear();
  for (const vmspace::VmaInfo &v : procs_[0].vmas()) {
    if (v.name == "[stack]" || v.start < 0x1000000) protected_.push_back({v.start, v.end});
  }
  return true;
}

std::string HostKernel::differences() const {
  std::string d;
  if (!zero_page) d += "no zero page";
  if (!gigantic_pages) d += std::string(d.empty() ? "" : "; ") + "no 1 GiB huge pages";
  if (read_ahead_kb != 128)
    d += std::string(d.empty() ? "" : "; ") + "files read ahead by " +
         std::to_string(read_ahead_kb) + " KiB";
  return d;
}

namespace {
uint64_t resident_pages() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident;
}

HostKernel probe_host() {
  HostKernel h;
  // Loads from 64 untouched pages: with the zero page RSS stays, without it grows by 64.
  constexpr size_t kPages = 64, kPage = 4096;
  void *m = ::mmap(nullptr, kPages * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m != MAP_FAILED) {
    const uint64_t before = resident_pages();
    for (size_t i = 0; i < kPages; i++) (void)static_cast<volatile const char *>(m)[i * kPage];
    h.zero_page = resident_pages() < before + kPages / 2;
    ::munmap(m, kPages * kPage);
  }
  struct stat st;
  h.gigantic_pages = ::stat("/sys/kernel/mm/hugepages/hugepages-1048576kB", &st) == 0;
  // The sessions' files live in $TMPDIR: their device's readahead is what the kernel's read
  // faults use (a file system without a device of its own keeps the default).
  const char *t = std::getenv("TMPDIR");
  if (::stat(t && *t ? t : "/tmp", &st) == 0) {
    std::ifstream ra("/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                     std::to_string(minor(st.st_dev)) + "/read_ahead_kb");
    uint64_t kb;
    if (ra >> kb) h.read_ahead_kb = kb;
  }
  return h;
}
}  // namespace

const HostKernel &host_kernel() {
  static const HostKernel h = probe_host();
  return h;
}

namespace {
long syscall_nr(const std::string &name) {
  static const std::map<std::string, long> nrs = {
      {"mmap", 9},       {"mprotect", 10}, {"munmap", 11},    {"brk", 12},
      {"mremap", 25},    {"msync", 26},    {"mincore", 27},   {"madvise", 28},
      {"open", 2},       {"openat", 257},  {"close", 3},      {"dup", 32},
      {"dup2", 33},      {"dup3", 292},    {"ftruncate", 77}, {"memfd_create", 319},
      {"mlock", 149},    {"munlock", 150}, {"mlockall", 151}, {"munlockall", 152},
      {"prctl", 157},    {"mlock2", 325},  {"mseal", 462},    {"fsync", 74},
      {"fdatasync", 75}, {"read", 0},      {"write", 1},      {"pread64", 17},
      {"pwrite64", 18},  {"lseek", 8},     {"unlink", 87},    {"rmdir", 84},
  };
  auto it = nrs.find(name);
  return it == nrs.end() ? -1 : it->second;
}

Answer from_kernel(long r) {
  Answer a;
  if (r == Oracle::kDead) {
    a.ok = false;
    a.err = -1;  // the process died (a fault signal)
  } else if (r < 0 && r > -4096) {
    a.ok = false;
    a.err = static_cast<int>(-r);
  } else {
    a.value = static_cast<uint64_t>(r);
  }
  return a;
}

bool is_fork(const std::string &name) { return name == "fork" || name == "vfork"; }
}  // namespace

Answer Session::kernel(const Op &op) {
  const int slot = op.slot;
  switch (op.kind) {
    case Op::Call: {
      if (is_fork(op.name)) return from_kernel(oracle_.fork(slot, op.child, op.name == "vfork"));
      if (op.name == "exit_group") {
        oracle_.exit(slot);
        return Answer{};
      }
      const vmspace::CallDef *def = vmspace::find_call(op.name);
      long args[6] = {};
      int str_arg = -1;
      std::string str;
      long out_len = 0;  // bytes the call leaves in the buffer: read's (-1), mincore's
      bool out = false, vec = false;
      for (size_t i = 0; i < op.args.size(); i++) {
        const vmspace::ArgVal &a = op.args[i];
        const vmspace::ArgFmt f = def->args[i];
        if ((f == vmspace::ArgFmt::path && a.is_str) ||
            (f == vmspace::ArgFmt::optpath && a.is_str) ||
            (f == vmspace::ArgFmt::vec && a.opaque) ||
            ((f == vmspace::ArgFmt::rbuf || f == vmspace::ArgFmt::wbuf) && a.is_str)) {
          // Strings, and buffers given by their contents: the oracle's own buffer.
          str_arg = static_cast<int>(i);
          str = a.s;
          if (f == vmspace::ArgFmt::vec) {
            str.clear();
            out = vec = true;
            const uint64_t len = op.args[1].v;
            out_len = static_cast<long>(len / 4096 + (len % 4096 != 0));
          }
          if (f == vmspace::ArgFmt::rbuf) {
            out = true;
            out_len = -1;
          }
          if (f == vmspace::ArgFmt::wbuf) str.resize(std::min<uint64_t>(op.args[2].v, 4096), '\0');
        } else {
          args[i] = static_cast<long>(a.v);
        }
      }
      if (!out) return from_kernel(oracle_.syscall(slot, syscall_nr(op.name), args, str_arg, str));
      std::string bytes;
      Answer a = from_kernel(
          oracle_.syscall_out(slot, syscall_nr(op.name), args, str_arg, str, out_len, &bytes));
      if (vec && a.ok)
        a.bytes = vmspace::fmt_vector(std::vector<uint8_t>(bytes.begin(), bytes.end()), false);
      else if (a.ok)
        a.bytes = std::move(bytes);
      return a;
    }
    case Op::Touch:
    case Op::Peek:
    case Op::Poke:
    case Op::Memset: {
      const Oracle::MemOp m = op.kind == Op::Touch  ? Oracle::MemOp::touch
                              : op.kind == Op::Peek ? Oracle::MemOp::peek
                              : op.kind == Op::Poke ? Oracle::MemOp::poke
                                                    : Oracle::MemOp::memset;
      const uint64_t arg = op.kind == Op::Touch ? op.write : op.byte;
      const uint64_t len = op.kind == Op::Poke ? op.bytes.size() : op.len;
      Oracle::Memory r = oracle_.memory(slot, m, op.addr, len, arg, op.bytes);
      Answer a;
      if (r.dead) return Answer{false, 0, -1};
      if (r.signal) {
        a.ok = false;
        a.err = r.signal;
        a.code = r.code;
        a.fault_addr = r.addr;
      }
      a.bytes = r.bytes;
      return a;
    }
    case Op::Fill:
      return from_kernel(oracle_.fill(slot, op.addr, op.len));
    case Op::Rlimit: {
      uint64_t lim[2] = {op.soft, op.hard};
      std::string buf(reinterpret_cast<const char *>(lim), sizeof lim);
      long args[6] = {0, op.resource, 0, 0, 0, 0};
      return from_kernel(oracle_.syscall(slot, 302 /* prlimit64 */, args, 2, buf));
    }
  }
  return {};
}

void Session::reap() {
  for (int k = 0; k < kSlots; k++)
    if (procs_[k] && !oracle_.alive(k)) {
      sys_->exit_process(procs_[k].pid());
      procs_[k] = vmspace::Process();
    }
}

Answer Session::vmspace(const Op &op) {
  Answer a;
  vmspace::Process *p = &procs_[op.slot];
  if (!*p) return Answer{false, 0, -1};
  switch (op.kind) {
    case Op::Call: {
      const vmspace::CallDef *def = vmspace::find_call(op.name);
      // A path given as a number is a guest address (the oracle passes the pointer itself).
      std::vector<vmspace::ArgVal> args = op.args;
      vmspace::Errno path_error = vmspace::Errno::none;
      for (size_t i = 0; i < args.size() && i < def->args.size(); i++)
        if (def->args[i] == vmspace::ArgFmt::path && !args[i].is_str && !args[i].opaque &&
            path_error == vmspace::Errno::none)
          path_error = vmspace::guest_path(*p, args[i].v, &args[i].s);
      vmspace::CallOutcome o;
      if (path_error != vmspace::Errno::none) {
        o.ok = false;
        o.err = path_error;
      } else {
        o = def->exec(*p, args);
      }
      a.ok = o.ok;
      a.value = o.value;
      a.err = static_cast<int>(o.err);
      if (o.ok && o.out_arg >= 0) a.bytes = std::move(o.out);
      if (is_fork(op.name) && o.ok && op.child >= 0) {
        procs_[op.child] = sys_->process(static_cast<int>(o.value));
        if (op.name == "fork") settle_child(op.child);
      }
      if (op.name == "exit_group") procs_[op.slot] = vmspace::Process();
      reap();
      return a;
    }
    case Op::Touch:
    case Op::Peek:
    case Op::Poke:
    case Op::Memset: {
      vmspace::Fault f;
      if (op.kind == Op::Touch) {
        f = p->touch(op.addr, op.len, op.write);
      } else if (op.kind == Op::Peek) {
        a.bytes.assign(op.len, '\0');
        f = p->read(op.addr, a.bytes.data(), op.len);
      } else if (op.kind == Op::Poke) {
        f = p->write(op.addr, op.bytes.data(), op.bytes.size());
      } else {
        f = p->fill(op.addr, op.byte, op.len);
      }
      if (f) {
        // A program without a handler dies of the fault, as the oracle's process does.
        a = Answer{false, 0, f.signal};
        a.code = f.code;
        a.fault_addr = f.addr;
      }
      reap();
      return a;
    }
    case Op::Fill: {
      auto r = p->mmap(op.addr, op.len * 4096, 3, 0x32, ~0ull, 0);
      if (!r) return Answer{false, 0, static_cast<int>(r.error())};
      // The oracle answers -1 (read as -EPERM) when one of the mprotect calls fails.
      for (uint64_t i = 1; i < op.len; i += 2)
        if (!p->mprotect(op.addr + i * 4096, 4096, 1)) return Answer{false, 0, 1};
      a.value = *r;
      return a;
    }
    case Op::Rlimit: {
      auto r = p->set_rlimit(op.resource, op.soft, op.hard);
      if (!r) return Answer{false, 0, static_cast<int>(r.error())};
      return a;
    }
  }
  return a;
}

namespace {
uint64_t smaps_rss_kb(const std::string &entry) {
  const size_t at = entry.find("\nRss:");
  return at == std::string::npos ? 0 : std::strtoull(entry.c_str() + at + 5, nullptr, 10);
}
}  // namespace

// A fork child of the oracle runs the oracle's code at once, faulting in its own text (which
// fork does not copy: those VMAs have no anon_vma); the vmspace child gets the same pages.
void Session::settle_child(int slot) {
  for (const auto &r : protected_) {
    const uint64_t want = smaps_rss_kb(kernel_smaps(slot, r.first));
    const bool down = r.second > 0x7f0000000000ull;  // the stack: its top pages
    for (uint64_t i = 0; i < (r.second - r.first) / 4096; i++) {
      if (smaps_rss_kb(procs_[slot].smaps(r.first)) >= want) break;
      (void)procs_[slot].touch(down ? r.second - (i + 1) * 4096 : r.first + i * 4096, 1, false);
    }
  }
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

std::string Session::kernel_maps(int slot) { return normalize_maps(oracle_.maps(slot), kdir_); }
std::string Session::vmspace_maps(int slot) { return normalize_maps(procs_[slot].maps(), vdir_); }

std::string Session::kernel_vmflags(int slot) {
  std::istringstream in(oracle_.smaps(slot));
  std::string line, range, out;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) i++;
    if (i > 0 && i < line.size() && line[i] == '-')
      range = line.substr(0, line.find(' '));
    else if (line.compare(0, 9, "VmFlags: ") == 0 && range.compare(0, 8, "ffffffff") != 0)
      out += range + " " + line.substr(9) + "\n";
  }
  return out;
}

std::string Session::vmspace_vmflags(int slot) {
  std::string out;
  char buf[64];
  for (const vmspace::VmaInfo &v : procs_[slot].vmas()) {
    std::snprintf(buf, sizeof buf, "%08llx-%08llx ", static_cast<unsigned long long>(v.start),
                  static_cast<unsigned long long>(v.end));
    out += buf + vmspace::render_vm_flags(v.flags) + "\n";
  }
  return out;
}

bool compare_rss = true;

namespace {
// The status lines vmspace renders, RSS included (unless --no-rss).
std::string status_lines(const std::string &status) {
  // Not VmHWM: the kernel's mark is taken from per-CPU counter approximations (get_mm_rss
  // in update_hiwater_rss), which lag the exact count by up to a batch of 32 pages.
  static const char *const keys[] = {
      "VmPeak:",   "VmSize:", "VmLck:", "VmPin:", "VmRSS:", "RssAnon:", "RssFile:",
      "RssShmem:", "VmData:", "VmStk:", "VmExe:", "VmLib:", "VmSwap:"};
  std::istringstream in(status);
  std::string line, out;
  while (std::getline(in, line))
    for (const char *k : keys)
      if (line.compare(0, std::strlen(k), k) == 0 &&
          (compare_rss || (line.compare(0, 3, "Rss") != 0 && line.compare(0, 6, "VmRSS:") != 0)))
        out += line + "\n";
  return out;
}
}  // namespace

std::string Session::kernel_status(int slot) { return status_lines(oracle_.status(slot)); }
std::string Session::vmspace_status(int slot) { return status_lines(procs_[slot].status()); }

std::string Session::kernel_smaps(int slot, uint64_t addr) {
  std::istringstream in(oracle_.smaps(slot));
  std::string line, out;
  bool in_entry = false;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) i++;
    if (i > 0 && i < line.size() && line[i] == '-') {
      const uint64_t s = std::strtoull(line.c_str(), nullptr, 16);
      const uint64_t e = std::strtoull(line.c_str() + i + 1, nullptr, 16);
      in_entry = addr >= s && addr < e;
      if (in_entry) line = normalize_maps(line + "\n", kdir_), line.pop_back();
    }
    if (in_entry) out += line + "\n";
  }
  return out;
}

std::string Session::vmspace_smaps(int slot, uint64_t addr) {
  std::string s = procs_[slot].smaps(addr);
  const size_t nl = s.find('\n');
  if (nl == std::string::npos) return s;
  return normalize_maps(s.substr(0, nl + 1), vdir_) + s.substr(nl + 1);
}

namespace {
// Lines that differ between two texts, as a short diff.
std::string text_diff(const std::string &k, const std::string &v) {
  std::istringstream a(k), b(v);
  std::string la, lb, diff;
  std::vector<std::string> A, B;
  while (std::getline(a, la)) A.push_back(la);
  while (std::getline(b, lb)) B.push_back(lb);
  size_t i = 0;
  while (i < A.size() && i < B.size() && A[i] == B[i]) i++;
  size_t ja = A.size(), jb = B.size();
  while (ja > i && jb > i && A[ja - 1] == B[jb - 1]) ja--, jb--;
  for (size_t x = i; x < ja; x++) diff += "  kernel : " + A[x] + "\n";
  for (size_t x = i; x < jb; x++) diff += "  vmspace: " + B[x] + "\n";
  return diff;
}
}  // namespace

bool Session::compare(std::string *what) {
  for (int slot = 0; slot < kSlots; slot++) {
    if (!alive(slot)) continue;
    const std::string who = slot ? " (process " + std::to_string(vmspace_pid(slot)) + ")" : "";
    std::string km = kernel_maps(slot), vm = vmspace_maps(slot);
    if (km != vm) {
      *what = "maps differ" + who + ":\n" + text_diff(km, vm);
      return false;
    }
    if (proc(slot).map_count() < 2000) {
      std::string kf = kernel_vmflags(slot), vf = vmspace_vmflags(slot);
      if (kf != vf) {
        *what = "VmFlags differ" + who + ":\n" + text_diff(kf, vf);
        return false;
      }
    }
    std::string ks = kernel_status(slot), vs = vmspace_status(slot);
    if (ks != vs) {
      *what = "status differs" + who + ":\n" + text_diff(ks, vs);
      return false;
    }
    std::string why;
    if (!proc(slot).validate(&why)) {
      *what = "vmspace invariant broken" + who + ": " + why;
      return false;
    }
  }
  return true;
}

std::string op_to_script(const Op &op, const Answer &k, int pid, int child_pid) {
  const std::string who = pid != 1 ? std::to_string(pid) + " " : "";
  std::string line;
  switch (op.kind) {
    case Op::Call: {
      const vmspace::CallDef *def = vmspace::find_call(op.name);
      vmspace::CallOutcome o;
      o.ok = k.ok;
      o.value = is_fork(op.name) && k.ok ? static_cast<uint64_t>(child_pid) : k.value;
      o.err = static_cast<vmspace::Errno>(k.err);
      std::vector<vmspace::ArgVal> args = op.args;
      // A buffer the call filled shows the kernel's contents.
      for (size_t i = 0; k.ok && i < args.size(); i++)
        if ((def->args[i] == vmspace::ArgFmt::rbuf && args[i].is_str) ||
            (def->args[i] == vmspace::ArgFmt::vec && args[i].opaque))
          args[i].s = k.bytes;
      std::string call = vmspace::format_call(*def, args);
      if (call.size() < 39) call.append(39 - call.size(), ' ');
      return who + call + " = " + vmspace::format_result(*def, o);
    }
    case Op::Touch:
    case Op::Peek:
    case Op::Poke:
    case Op::Memset: {
      std::string result;
      if (!k.ok && k.err == -1)
        result = "  # the process was gone";
      else if (!k.ok)
        result = " = " + vmspace::fmt_fault(vmspace::Fault{k.err, k.code, k.fault_addr});
      else
        result = " = " + (op.kind == Op::Peek ? vmspace::fmt_bytes(k.bytes) : std::string("0"));
      const std::string a = vmspace::fmt_hex0x(op.addr);
      if (op.kind == Op::Touch)
        return who + "@touch " + a + " " + std::to_string(op.len) +
               (op.write ? " write" : " read") + result;
      if (op.kind == Op::Peek) return who + "@peek " + a + " " + std::to_string(op.len) + result;
      if (op.kind == Op::Poke)
        return who + "@poke " + a + " " + vmspace::fmt_bytes(op.bytes) + result;
      return who + "@fill " + a + " " + std::to_string(op.len) + " " + std::to_string(op.byte) +
             result;
    }
    case Op::Fill:
      return "# fill " + vmspace::fmt_hex(op.addr) + " " + std::to_string(op.len) + " pages";
    case Op::Rlimit:
      return "@rlimit " + vmspace::fmt_rlimit_resource(static_cast<uint64_t>(op.resource)) + " " +
             std::to_string(op.soft) + " " + std::to_string(op.hard) + (k.ok ? "" : "  # refused");
  }
  return line;
}

}  // namespace difftest
