// The call table of the script runner. See calls.hpp.
#include "trace/calls.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "trace/script.hpp"
#include "trace/symbols.hpp"
#include "vmspace/process.hpp"

namespace vmspace {

namespace {
template <class T>
CallOutcome outcome(const Result<T> &r) {
  CallOutcome o;
  if (!r) {
    o.ok = false;
    o.err = r.error();
    return o;
  }
  o.value = static_cast<uint64_t>(*r);
  return o;
}
CallOutcome outcome(const Result<void> &r) {
  CallOutcome o;
  if (!r) {
    o.ok = false;
    o.err = r.error();
  }
  return o;
}

constexpr uint64_t kPrSetVma = lx::pr_set_vma;

// The most a buffer of the script's own may hold (a script line's limit): a read of more
// keeps this much to print and compare, a vector this many pages.
constexpr uint64_t kMaxShown = 16u << 20;
constexpr uint64_t kMaxVector = 1u << 16;
constexpr uint64_t kIoChunk = 1u << 20;

// read/pread64 (write: false) or write/pwrite64 with a buffer of the script's own, a chunk at
// a time (the count is not a size: reading 2 GiB of a sparse file keeps only what is shown).
// io(buf, n, done) does one chunk of n bytes that starts done bytes into the call.
template <class Io>
CallOutcome host_io(bool write, const ArgVal &buf, uint64_t count, int buf_arg, Io io) {
  CallOutcome o;
  std::vector<uint8_t> chunk(std::min(count, kIoChunk));
  uint64_t done = 0;
  while (done < count || count == 0) {
    const uint64_t k = std::min<uint64_t>(count - done, chunk.size());
    if (write) {
      // The string's bytes, then zeros for a count past its end.
      std::fill(chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(k), 0);
      if (done < buf.s.size())
        std::memcpy(chunk.data(), buf.s.data() + done, std::min<uint64_t>(k, buf.s.size() - done));
    }
    Result<uint64_t> r = io(chunk.data(), k, done);
    if (!r) {
      if (done) break;
      o.ok = false;
      o.err = r.error();
      return o;
    }
    if (!write && o.out.size() < kMaxShown)
      o.out.append(reinterpret_cast<const char *>(chunk.data()),
                   std::min<uint64_t>(*r, kMaxShown - o.out.size()));
    done += *r;
    if (*r < k || count == 0) break;
  }
  o.value = done;
  if (!write) o.out_arg = buf_arg;
  return o;
}

// ENOSYS from the file calls: a descriptor vmspace does not model.
CallOutcome io_outcome(CallOutcome o) {
  if (!o.ok && o.err == Errno::nosys)
    o.unsupported =
        "read, write and lseek of pipes, sockets, placeholders and devices other than "
        "/dev/null, /dev/zero, /dev/full and /dev/[u]random are not modelled";
  return o;
}

CallOutcome read_call(Process &p, const std::vector<ArgVal> &a, bool positional) {
  const uint64_t fd = a[0].v, count = a[2].v, pos = positional ? a[3].v : 0;
  if (!a[1].is_str) {
    return io_outcome(
        outcome(positional ? p.pread64(fd, a[1].v, count, pos) : p.sys_read(fd, a[1].v, count)));
  }
  return io_outcome(host_io(false, a[1], count, 1, [&](uint8_t *b, uint64_t n, uint64_t done) {
    return positional ? p.pread64(fd, b, n, pos + done) : p.sys_read(fd, b, n);
  }));
}

CallOutcome write_call(Process &p, const std::vector<ArgVal> &a, bool positional) {
  const uint64_t fd = a[0].v, count = a[2].v, pos = positional ? a[3].v : 0;
  if (!a[1].is_str) {
    return io_outcome(
        outcome(positional ? p.pwrite64(fd, a[1].v, count, pos) : p.sys_write(fd, a[1].v, count)));
  }
  return io_outcome(host_io(true, a[1], count, 1, [&](uint8_t *b, uint64_t n, uint64_t done) {
    return positional ? p.pwrite64(fd, b, n, pos + done) : p.sys_write(fd, b, n);
  }));
}

}  // namespace

std::string fmt_vector(const std::vector<uint8_t> &v, bool cut) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  if (cut) s += v.empty() ? "..." : ", ...";
  return s + "]";
}

namespace {

// The numbers of a vector "[1, 0, ...]"; *cut when it ends in "...". False when it is not one.
bool parse_vector(const std::string &t, std::vector<uint8_t> *out, bool *cut) {
  *cut = false;
  size_t i = 0;
  auto ws = [&] {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) i++;
  };
  ws();
  if (i >= t.size() || t[i++] != '[') return false;
  for (;;) {
    ws();
    if (i < t.size() && t[i] == ']' && out->empty() && !*cut) return true;
    if (t.compare(i, 3, "...") == 0) {
      *cut = true;
      i += 3;
      ws();
      return i < t.size() && t[i] == ']';
    }
    if (i >= t.size() || t[i] < '0' || t[i] > '9') return false;
    unsigned v = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && v < 256) v = v * 10 + (t[i++] - '0');
    if (v > 255) return false;
    out->push_back(static_cast<uint8_t>(v));
    ws();
    if (i < t.size() && t[i] == ',') {
      i++;
      continue;
    }
    return i < t.size() && t[i] == ']';
  }
}

}  // namespace

bool out_matches(const ArgVal &a, ArgFmt f, const std::string &out) {
  if (f == ArgFmt::vec) {
    std::vector<uint8_t> want, got;
    bool cut = false, got_cut = false;
    if (!a.opaque || !parse_vector(a.s, &want, &cut)) return true;  // "{...}": no contents given
    parse_vector(out, &got, &got_cut);
    if (cut || got_cut) {
      const size_t n = std::min(want.size(), got.size());
      return std::equal(want.begin(), want.begin() + static_cast<ptrdiff_t>(n), got.begin()) &&
             (want.size() <= got.size() || got_cut);
    }
    return want == got;
  }
  if (!a.is_str) return true;
  if (a.truncated || out.size() >= kMaxShown)
    return out.compare(0, std::min(a.s.size(), out.size()), a.s, 0,
                       std::min(a.s.size(), out.size())) == 0 &&
           (a.s.size() <= out.size() || !a.truncated);
  return a.s == out;
}

bool parse_strvec(const std::string &t, std::vector<std::string> *out) {
  size_t i = 0;
  auto ws = [&] {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) i++;
  };
  ws();
  if (i >= t.size() || t[i] != '[') return false;
  i++;
  ws();
  if (i < t.size() && t[i] == ']') return true;
  for (;;) {
    ws();
    if (i >= t.size() || t[i] != '"') return false;
    i++;
    std::string v;
    while (i < t.size() && t[i] != '"') {
      char c = t[i++];
      if (c != '\\') {
        v += c;
        continue;
      }
      if (i >= t.size()) return false;
      char e = t[i++];
      switch (e) {
        case 'n':
          v += '\n';
          break;
        case 't':
          v += '\t';
          break;
        case 'r':
          v += '\r';
          break;
        case 'v':
          v += '\v';
          break;
        case 'f':
          v += '\f';
          break;
        case 'x': {
          int n = 0, k = 0;
          while (k < 2 && i < t.size() && std::isxdigit(static_cast<unsigned char>(t[i]))) {
            n = n * 16 + (std::isdigit(static_cast<unsigned char>(t[i]))
                              ? t[i] - '0'
                              : (t[i] | 0x20) - 'a' + 10);
            i++;
            k++;
          }
          v += static_cast<char>(n);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int n = e - '0', k = 1;
            while (k < 3 && i < t.size() && t[i] >= '0' && t[i] <= '7')
              n = n * 8 + (t[i++] - '0'), k++;
            v += static_cast<char>(n);
          } else {
            v += e;
          }
      }
    }
    if (i >= t.size()) return false;
    i++;
    // strace cuts long strings ("abc"...) and long arrays (..., ...]): what it printed is kept.
    if (t.compare(i, 3, "...") == 0) i += 3;
    out->push_back(std::move(v));
    ws();
    if (t.compare(i, 3, "...") == 0) {
      i += 3;
      ws();
    }
    if (i < t.size() && t[i] == ',') {
      i++;
      continue;
    }
    return i < t.size() && t[i] == ']';
  }
}

namespace {

// An execve argument vector: a strace array, or NULL (none). Any other pointer stands for
// contents strace did not show; vmspace takes it as empty.
std::vector<std::string> strvec_arg(const ArgVal &a) {
  std::vector<std::string> v;
  if (a.opaque) parse_strvec(a.s, &v);
  return v;
}

const std::vector<CallDef> &calls() {
  using A = ArgFmt;
  static const std::
      vector<CallDef>
          table =
              {
                  {"mmap",
                   {A::addr, A::dec, A::prot, A::mflags, A::intarg, A::hex},
                   6,
                   ResultFmt::addr,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.mmap(a[0].v, a[1].v, a[2].v, a[3].v, a[4].v, a[5].v));
                   }},
                  {"munmap",
                   {A::addr, A::dec},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.munmap(a[0].v, a[1].v));
                   }},
                  {"mprotect",
                   {A::addr, A::dec, A::prot},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.mprotect(a[0].v, a[1].v, a[2].v));
                   }},
                  {"open",
                   {A::path, A::oflags, A::mode},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.open(a[0].s, a[1].v, a.size() > 2 ? a[2].v : 0));
                   }},
                  {"openat",
                   {A::dirfd, A::path, A::oflags, A::mode},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.openat(a[0].v, a[1].s, a[2].v, a.size() > 3 ? a[3].v : 0));
                   }},
                  {"unlink",
                   {A::path},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.unlinkat(static_cast<uint64_t>(lx::at_fdcwd), a[0].s, 0));
                   }},
                  {"rmdir",
                   {A::path},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.unlinkat(static_cast<uint64_t>(lx::at_fdcwd), a[0].s, 0x200));
                   }},
                  {"unlinkat",
                   {A::dirfd, A::path, A::at_flags},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.unlinkat(a[0].v, a[1].s, a[2].v));
                   }},
                  {"link",
                   {A::path, A::path},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     const uint64_t cwd = static_cast<uint64_t>(lx::at_fdcwd);
                     return outcome(p.linkat(cwd, a[0].s, cwd, a[1].s, 0));
                   }},
                  {"linkat",
                   {A::dirfd, A::path, A::dirfd, A::path, A::hex},
                   5,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.linkat(a[0].v, a[1].s, a[2].v, a[3].s, a[4].v));
                   }},
                  {"rename",
                   {A::path, A::path},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     const uint64_t cwd = static_cast<uint64_t>(lx::at_fdcwd);
                     return outcome(p.renameat2(cwd, a[0].s, cwd, a[1].s, 0));
                   }},
                  {"renameat",
                   {A::dirfd, A::path, A::dirfd, A::path},
                   4,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.renameat2(a[0].v, a[1].s, a[2].v, a[3].s, 0));
                   }},
                  {"renameat2",
                   {A::dirfd, A::path, A::dirfd, A::path, A::hex},
                   5,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.renameat2(a[0].v, a[1].s, a[2].v, a[3].s, a[4].v));
                   }},
                  {"close",
                   {A::intarg},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.close(a[0].v));
                   }},
                  {"dup",
                   {A::intarg},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) { return outcome(p.dup(a[0].v)); }},
                  {"dup2",
                   {A::intarg, A::intarg},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.dup2(a[0].v, a[1].v));
                   }},
                  {"dup3",
                   {A::intarg, A::intarg, A::oflags},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.dup3(a[0].v, a[1].v, a[2].v));
                   }},
                  {"fsync",
                   {A::intarg},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.fsync(a[0].v));
                   }},
                  {"fdatasync",
                   {A::intarg},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.fdatasync(a[0].v));
                   }},
                  {"read",
                   {A::intarg, A::rbuf, A::dec},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) { return read_call(p, a, false); }},
                  {"pread64",
                   {A::intarg, A::rbuf, A::dec, A::dec},
                   4,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) { return read_call(p, a, true); }},
                  {"write",
                   {A::intarg, A::wbuf, A::dec},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return write_call(p, a, false);
                   }},
                  {"pwrite64",
                   {A::intarg, A::wbuf, A::dec, A::dec},
                   4,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) { return write_call(p, a, true); }},
                  {"lseek",
                   {A::intarg, A::intarg, A::whence},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return io_outcome(outcome(p.lseek(a[0].v, a[1].v, a[2].v)));
                   }},
                  {"ftruncate",
                   {A::intarg, A::dec},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.ftruncate(a[0].v, a[1].v));
                   }},
                  {"memfd_create",
                   {A::path, A::mfdflags},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.memfd_create(a[0].s, a[1].v));
                   }},
                  {"brk",
                   {A::addr},
                   1,
                   ResultFmt::addr,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     CallOutcome o;
                     o.value = p.brk(a[0].v);
                     return o;
                   }},
                  {"mremap",
                   {A::addr, A::dec, A::dec, A::mremap_flags, A::addr},
                   4,
                   ResultFmt::addr,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(
                         p.mremap(a[0].v, a[1].v, a[2].v, a[3].v, a.size() > 4 ? a[4].v : 0));
                   }},
                  {"mlock",
                   {A::addr, A::dec},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.mlock(a[0].v, a[1].v));
                   }},
                  {"mlock2",
                   {A::addr, A::dec, A::mlock2_flags},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.mlock2(a[0].v, a[1].v, a[2].v));
                   }},
                  {"munlock",
                   {A::addr, A::dec},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.munlock(a[0].v, a[1].v));
                   }},
                  {"mlockall",
                   {A::mcl_flags},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.mlockall(a[0].v));
                   }},
                  {"munlockall",
                   {},
                   0,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &) { return outcome(p.munlockall()); }},
                  {"madvise",
                   {A::addr, A::dec, A::madvise_advice},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.madvise(a[0].v, a[1].v, a[2].v));
                   }},
                  {"msync",
                   {A::addr, A::dec, A::msync_flags},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.msync(a[0].v, a[1].v, a[2].v));
                   }},
                  {"mincore",
                   {A::addr, A::dec, A::vec},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     // A strace vector ([1, 0, ...]) stands for a valid buffer somewhere.
                     // strace shows the vector's contents, not its address: a buffer of the
                     // script's own stands for it, and is printed back (its first
                     // kMaxVector pages).
                     if (!a[2].opaque) return outcome(p.mincore(a[0].v, a[1].v, a[2].v));
                     CallOutcome o = outcome(p.mincore(a[0].v, a[1].v, nullptr));
                     if (!o.ok) return o;
                     const uint64_t ps = p.page_size();
                     const uint64_t pages = a[1].v / ps + (a[1].v % ps != 0);
                     std::vector<uint8_t> v(std::min(pages, kMaxVector));
                     if (!v.empty()) (void)p.mincore(a[0].v, v.size() * ps, v.data());
                     o.out = fmt_vector(v, pages > v.size());
                     o.out_arg = 2;
                     return o;
                   }},
                  {"mseal",
                   {A::addr, A::dec, A::hex},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.mseal(a[0].v, a[1].v, a[2].v));
                   }},
                  {"fork",
                   {},
                   0,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &) { return outcome(p.fork()); }},
                  {"vfork",
                   {},
                   0,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &) { return outcome(p.vfork()); }},
                  {"clone",
                   {A::clone_flags, A::hex, A::hex, A::hex, A::hex},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.clone(a[0].v));
                   }},
                  {"clone3",
                   {A::clone_flags, A::dec},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.clone(a[0].v));
                   }},
                  {"execve",
                   {A::path, A::strvec, A::strvec},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.execve(a[0].s, strvec_arg(a[1]), strvec_arg(a[2])));
                   }},
                  {"execveat",
                   {A::dirfd, A::path, A::strvec, A::strvec, A::hex},
                   5,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(
                         p.execveat(a[0].v, a[1].s, strvec_arg(a[2]), strvec_arg(a[3]), a[4].v));
                   }},
                  {"fcntl",
                   {A::intarg, A::fcntl_cmd, A::hex},
                   2,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     Result<int> r = p.fcntl(a[0].v, a[1].v, a.size() > 2 ? a[2].v : 0);
                     if (!r && r.error() == Errno::nosys) {
                       CallOutcome o;
                       o.unsupported =
                           "fcntl commands other than F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, "
                           "F_SETFD and F_GETFL are not modelled";
                       return o;
                     }
                     return outcome(r);
                   }},
                  {"close_range",
                   {A::intarg, A::intarg, A::hex},
                   3,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     return outcome(p.close_range(a[0].v, a[1].v, a[2].v));
                   }},
                  {"exit_group",
                   {A::intarg},
                   1,
                   ResultFmt::none,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     p.exit_group(static_cast<int>(a[0].v));
                     return CallOutcome{};
                   }},
                  {"prctl",
                   {A::prctl_option, A::prctl_arg, A::addr, A::dec, A::optpath},
                   1,
                   ResultFmt::dec,
                   [](Process &p, const std::vector<ArgVal> &a) {
                     CallOutcome o;
                     if (a[0].v != kPrSetVma || a.size() < 2 || a[1].v != 0) {
                       o.unsupported =
                           "prctl options other than PR_SET_VMA, "
                           "PR_SET_VMA_ANON_NAME are not modelled";
                       return o;
                     }
                     if (a.size() < 5) return outcome(Result<void>(fail(Errno::inval)));
                     return outcome(p.set_vma_anon_name(a[2].v, a[3].v,
                                                        a[4].is_str ? a[4].s.c_str() : nullptr));
                   }},
              };
  return table;
}

}  // namespace

bool is_file_io(const CallDef &def) {
  return def.args.size() > 1 && (def.args[1] == ArgFmt::rbuf || def.args[1] == ArgFmt::wbuf ||
                                 (def.args.size() == 3 && def.args[2] == ArgFmt::whence));
}

std::string format_arg(ArgFmt f, const ArgVal &a) {
  switch (f) {
    case ArgFmt::addr:
      return fmt_addr(a.v);
    case ArgFmt::hex:
      return fmt_hex(a.v);
    case ArgFmt::dec:
      return fmt_dec(a.v);
    case ArgFmt::intarg:
      return fmt_int(a.v);
    case ArgFmt::prot:
      return fmt_prot(a.v);
    case ArgFmt::mflags:
      return fmt_mmap_flags(a.v);
    case ArgFmt::path:
      return a.is_str ? fmt_string(a.s) : fmt_addr(a.v);  // a string, or a guest address
    case ArgFmt::oflags:
      return fmt_open_flags(a.v);
    case ArgFmt::mode:
      return fmt_octal(a.v);
    case ArgFmt::dirfd:
      return fmt_dirfd(a.v);
    case ArgFmt::at_flags:
      return a.v == 0x200 ? "AT_REMOVEDIR" : fmt_hex(a.v);
    case ArgFmt::mfdflags:
      return fmt_mfd_flags(a.v);
    case ArgFmt::mremap_flags:
      return fmt_mremap_flags(a.v);
    case ArgFmt::mlock2_flags:
      return fmt_named_flags("mlock2", a.v);
    case ArgFmt::mcl_flags:
      return fmt_named_flags("mcl", a.v);
    case ArgFmt::madvise_advice:
      return fmt_madvise(a.v);
    case ArgFmt::msync_flags:
      return fmt_named_flags("ms", a.v);
    case ArgFmt::fcntl_cmd:
      switch (a.v) {
        case 0:
          return "F_DUPFD";
        case 1:
          return "F_GETFD";
        case 2:
          return "F_SETFD";
        case 3:
          return "F_GETFL";
        case 4:
          return "F_SETFL";
        case 1030:
          return "F_DUPFD_CLOEXEC";
        default:
          return fmt_dec(a.v);
      }
    case ArgFmt::rbuf:
    case ArgFmt::wbuf:
      return a.is_str ? fmt_bytes(a.s) + (a.truncated ? "..." : "") : fmt_addr(a.v);
    case ArgFmt::whence:
      switch (a.v) {
        case 0:
          return "SEEK_SET";
        case 1:
          return "SEEK_CUR";
        case 2:
          return "SEEK_END";
        case 3:
          return "SEEK_DATA";
        case 4:
          return "SEEK_HOLE";
        default:
          return fmt_dec(a.v);
      }
    case ArgFmt::vec:
    case ArgFmt::strvec:
      return a.opaque ? a.s : fmt_addr(a.v);
    case ArgFmt::prctl_option:
      return a.v == kPrSetVma ? "PR_SET_VMA" : fmt_hex(a.v);
    case ArgFmt::prctl_arg:
      return a.v == 0 ? "PR_SET_VMA_ANON_NAME" : fmt_hex(a.v);
    case ArgFmt::optpath:
      return a.is_str ? fmt_string(a.s) : fmt_addr(a.v);
    case ArgFmt::clone_flags:
      return fmt_clone_flags(a.v);
  }
  return fmt_hex(a.v);
}

bool is_supported_call(const std::string &name) { return find_call(name) != nullptr; }

const CallDef *find_call(const std::string &name) {
  // Looked up for every line of a trace: a hash table, built once.
  static const std::unordered_map<std::string_view, const CallDef *> index = [] {
    std::unordered_map<std::string_view, const CallDef *> m;
    for (const CallDef &d : calls()) m.emplace(d.name, &d);
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

std::string format_call(const CallDef &def, const std::vector<ArgVal> &args) {
  std::string out = def.name;
  out += '(';
  for (size_t i = 0; i < args.size(); i++) {
    if (i) out += ", ";
    out += format_arg(def.args[i], args[i]);
  }
  out += ')';
  return out;
}

std::string format_result(const CallDef &def, const CallOutcome &o) {
  if (def.result == ResultFmt::none) return "?";
  if (!o.ok) return std::string("-1 ") + errno_name(o.err) + " (" + errno_text(o.err) + ")";
  if (def.result == ResultFmt::addr) return fmt_hex(o.value);
  return fmt_sdec(static_cast<int64_t>(o.value));
}

}  // namespace vmspace
