// Random operation sequences for the differential test. See generator.hpp.
#include "generator.hpp"

#include <algorithm>

#include "mm/address_space.hpp"
#include "vmspace/abi.hpp"

namespace difftest {

namespace lx = vmspace::lx;
using vmspace::ArgVal;

namespace {
constexpr uint64_t P = 4096;
constexpr uint64_t kTaskSize = 0x7ffffffff000ull;
constexpr uint64_t kMaxPopulate = 8ull << 20;  // real memory a locking or populating op may use
constexpr uint64_t kMaxGuarded = 1ull << 30;   // memory one MADV_GUARD_INSTALL may cover
namespace vm = vmspace::vm;
constexpr uint64_t kVmSpecial = vm::special;

// Advice that makes the kernel allocate or read in memory.
bool populating(uint64_t advice) {
  return advice == lx::madv_willneed || advice == lx::madv_populate_read ||
         advice == lx::madv_populate_write || advice == lx::madv_collapse;
}

Op call(const char *name, std::initializer_list<uint64_t> vals) {
  Op op;
  op.kind = Op::Call;
  op.name = name;
  for (uint64_t v : vals) {
    ArgVal a;
    a.v = v;
    op.args.push_back(a);
  }
  return op;
}
}  // namespace

bool Generator::overlaps_protected(Session &s, uint64_t a, uint64_t len) {
  uint64_t e = a + len;
  if (e < a) e = ~0ull;
  for (auto &r : s.protected_ranges())
    if (a < r.second && e > r.first) return true;
  return false;
}

uint64_t Generator::some_len() {
  uint64_t r = pick(100);
  if (r < 45) return (1 + pick(4)) * P;
  if (r < 60) return (5 + pick(60)) * P;
  if (r < 70) return (1 + pick(2)) * (2ull << 20);
  if (r < 74) return (2ull << 20) + P;
  if (r < 78) return 0;
  if (r < 84) return 1 + pick(3 * P);
  if (r < 88) return 1ull << 30;
  const uint64_t huge[] = {1ull << 47,    kTaskSize,  kTaskSize + 1, ~0ull,
                           ~0ull - P + 2, 1ull << 40, 1ull << 46};
  return huge[pick(7)];
}

uint64_t Generator::some_prot() {
  uint64_t p = pick(8);  // any subset of RWX
  if (chance(0.03)) p |= lx::prot_sem;
  if (chance(0.02)) p |= 0x10 << pick(4);
  if (chance(0.01)) p |= 1ull << (32 + pick(20));
  return p;
}

// An address: near existing VMAs, in a few playground windows, or odd on purpose.
uint64_t Generator::some_addr(Session &s, uint64_t len, bool fixed) {
  std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
  for (int attempt = 0; attempt < 20; attempt++) {
    uint64_t r = pick(100), a;
    if (r < 40 && !vmas.empty()) {
      const vmspace::VmaInfo &v = vmas[pick(vmas.size())];
      int64_t k = static_cast<int64_t>(pick(9)) - 4;
      a = (chance(0.5) ? v.start : v.end) + static_cast<uint64_t>(k) * P;
    } else if (r < 55) {
      a = 0x7ffff7f00000ull + pick(0xf7) * P;  // just below the vDSO
    } else if (r < 65) {
      a = 0x100000000ull + pick(64) * P;
    } else if (r < 72) {
      a = 0x40000000ull + pick(64) * P;  // the MAP_32BIT window
    } else if (r < 78) {
      a = pick(0x20) * P;  // below mmap_min_addr
    } else if (r < 84) {
      a = 0x7fffff000000ull + pick(0x1000) * P;  // near the stack's guard gap
    } else if (r < 88) {
      a = kTaskSize - (len & ~(P - 1)) - pick(3) * P;
    } else if (r < 92) {
      const uint64_t odd[] = {kTaskSize, 1ull << 47, ~0ull & ~(P - 1), 0xffffffffff600000ull,
                              (1ull << 47) - P};
      a = odd[pick(5)];
    } else {
      a = (pick(1ull << 35) * P) & ((1ull << 47) - 1);
    }
    if (chance(0.04)) a += 1 + pick(P - 1);  // unaligned
    if (!fixed || !overlaps_protected(s, a, len ? len : P)) return a;
  }
  return 0x100000000ull;
}

Op Generator::mmap_op(Session &s) {
  const bool anon = fds_.empty() || chance(0.55);
  uint64_t len = some_len();
  uint64_t prot = some_prot();
  uint64_t flags;
  uint64_t r = pick(100);
  if (r < 55)
    flags = lx::map_private;
  else if (r < 75)
    flags = lx::map_shared;
  else if (r < 83)
    flags = lx::map_shared_validate;
  else if (r < 88)
    flags = lx::map_droppable;
  else if (r < 93)
    flags = 0;
  else
    flags = pick(16);
  if (anon) flags |= lx::map_anonymous;
  struct {
    uint64_t flag;
    double p;
  } extras[] = {
      {lx::map_fixed, 0.25},         {lx::map_fixed_noreplace, 0.08}, {lx::map_32bit, 0.04},
      {lx::map_above4g, 0.02},       {lx::map_growsdown, 0.04},       {lx::map_locked, 0.04},
      {lx::map_noreserve, 0.08},     {lx::map_populate, 0.08},        {lx::map_nonblock, 0.03},
      {lx::map_stack, 0.05},         {lx::map_hugetlb, 0.03},         {lx::map_sync, 0.03},
      {lx::map_uninitialized, 0.02}, {lx::map_denywrite, 0.03},       {lx::map_executable, 0.02}};
  for (auto &e : extras)
    if (chance(e.p)) flags |= e.flag;
  if ((flags & lx::map_hugetlb) && chance(0.6)) {
    const uint64_t sizes[] = {21, 30, 20, 31, 0};
    flags |= sizes[pick(5)] << lx::map_huge_shift;
  }
  if (chance(0.01)) flags |= 1ull << (33 + pick(20));
  // Populating or locking touches real memory: keep it small.
  if (len > 16 * P && len != 0) flags &= ~(lx::map_locked | lx::map_populate);
  // After mlockall(MCL_FUTURE) every mapping is locked and populated.
  if (future_locked() && len > 16 * P && len <= kTaskSize) len = (1 + pick(16)) * P;
  bool fixed = flags & (lx::map_fixed | lx::map_fixed_noreplace);
  uint64_t addr = (chance(0.45) && !fixed) ? 0 : some_addr(s, len, fixed);
  if (fixed && overlaps_protected(s, addr, len ? len : P))
    flags &= ~(lx::map_fixed | lx::map_fixed_noreplace);
  if ((flags & lx::map_fixed) && !(flags & lx::map_fixed_noreplace) &&
      overlaps_protected(s, addr, len)) {
    flags &= ~lx::map_fixed;
  }

  uint64_t fd = ~0ull, off = 0;
  uint64_t file_size = 0;
  if (!anon) {
    uint64_t rr = pick(100);
    if (rr < 85) {
      const OpenFd &f = fds_[pick(fds_.size())];
      fd = static_cast<uint64_t>(f.fd);
      file_size = f.size;
      // The kernel's smaps walks a hugetlb mapping huge page by huge page: 64 TiB of them
      // take a second on every checkpoint. A terabyte is as good a test.
      if (f.hugetlb && len > (1ull << 40) && len <= kTaskSize) len = 1ull << 40;
    } else if (rr < 92) {
      const uint64_t bad[] = {99, ~0ull, 1000, 0x100000003ull};
      fd = bad[pick(4)];
    } else {
      fd = pick(3);  // /dev/null
    }
  } else if (chance(0.05)) {
    fd = pick(5);
  }
  uint64_t ro = pick(100);
  if (ro < 60)
    off = 0;
  else if (ro < 80)
    off = pick(std::max<uint64_t>(file_size / P + 2, 2)) * P;
  else if (ro < 85)
    off = 1 + pick(P - 1);
  else if (ro < 90)
    off = (0x7fffffffffffffffull - pick(4) * P) & ~(P - 1);
  else if (ro < 95)
    off = 1ull << (40 + pick(23));
  else
    off = (2ull << 20) * (1 + pick(2));
  return call("mmap", {addr, len, prot, flags, fd, off});
}

Op Generator::munmap_op(Session &s) {
  std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
  for (int attempt = 0; attempt < 20; attempt++) {
    uint64_t addr, len;
    uint64_t r = pick(100);
    if (r < 70 && !vmas.empty()) {
      const vmspace::VmaInfo &v = vmas[pick(vmas.size())];
      addr = v.start + (pick(3) ? 0 : pick((v.end - v.start) / P) * P);
      len = chance(0.5) ? (v.end - addr) : (1 + pick(6)) * P;
      if (chance(0.2)) len += pick(4) * P;
      if (chance(0.1)) len -= std::min(len, P / 2);
    } else {
      addr = some_addr(s, P, false);
      len = some_len();
    }
    if (chance(0.03)) len = 0;
    if (!overlaps_protected(s, addr, len)) return call("munmap", {addr, len});
  }
  return call("munmap", {0x7ffff7fff000ull + 1, P});
}

Op Generator::mprotect_op(Session &s) {
  std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
  for (int attempt = 0; attempt < 20; attempt++) {
    uint64_t addr, len;
    uint64_t r = pick(100);
    if (r < 75 && !vmas.empty()) {
      size_t i = pick(vmas.size());
      const vmspace::VmaInfo &v = vmas[i];
      addr = v.start + (pick(3) ? 0 : pick((v.end - v.start) / P) * P);
      uint64_t span = pick(3) == 0 && i + 1 < vmas.size() ? vmas[i + 1].end - addr : v.end - addr;
      len = chance(0.5) ? span : std::min(span, (1 + pick(4)) * P);
      if (chance(0.1)) len += P;
    } else {
      addr = some_addr(s, P, false);
      len = some_len();
    }
    uint64_t prot = some_prot();
    if (chance(0.06)) prot |= lx::prot_growsdown;
    if (chance(0.02)) prot |= lx::prot_growsup;
    if (!overlaps_protected(s, addr, len == 0 ? 0 : len + P))
      return call("mprotect", {addr, len, prot});
  }
  return call("mprotect", {0x100000000ull, P, lx::prot_read});
}

Op Generator::file_op(Session &s) {
  (void)s;
  uint64_t r = pick(100);
  if (r < 45) {
    const std::vector<FileSpec> &files = session_files();
    std::string path;
    uint64_t size = 0;
    uint64_t pr = pick(100);
    if (pr < 75) {
      const FileSpec &f = files[pick(files.size())];
      path = f.name;
      size = f.size;
    } else if (pr < 82) {
      path = "dir";
    } else if (pr < 86) {
      path = "fifo";
    } else if (pr < 93) {
      path = "/dev/zero";
    } else if (pr < 96) {
      path = "missing";
    } else {
      path = "/dev/null";
    }
    const uint64_t modes[] = {lx::o_rdonly,
                              lx::o_rdwr,
                              lx::o_wronly,
                              lx::o_rdwr | lx::o_append,
                              lx::o_path,
                              lx::o_rdonly | lx::o_directory,
                              lx::o_rdonly | lx::o_cloexec,
                              lx::o_rdwr | lx::o_nonblock};
    uint64_t flags = modes[pick(8)];
    if (path == "fifo") flags |= lx::o_nonblock;
    Op op;
    op.kind = Op::Call;
    ArgVal p;
    p.s = path;
    p.is_str = true;
    if (pr == 99) {
      // Now and then a path that is a guest address nothing maps: EFAULT (getname). (No
      // random number is drawn for it: the sequences of other seeds stay as they were.)
      p.s.clear();
      p.is_str = false;
      p.v = 0x1000;
    }
    if (chance(0.5)) {
      op.name = "openat";
      ArgVal d;
      d.v = static_cast<uint64_t>(lx::at_fdcwd);
      ArgVal f;
      f.v = flags;
      op.args = {d, p, f};
    } else {
      op.name = "open";
      ArgVal f;
      f.v = flags;
      op.args = {p, f};
    }
    (void)size;
    return op;
  }
  if (r < 60) {
    Op op;
    op.kind = Op::Call;
    op.name = "memfd_create";
    ArgVal n, f;
    n.s = chance(0.95) ? "mfd" + std::to_string(pick(5)) : std::string(250, 'x');
    n.is_str = true;
    const uint64_t fl[] = {0,
                           lx::mfd_cloexec,
                           lx::mfd_allow_sealing,
                           lx::mfd_hugetlb,
                           0x100,
                           lx::mfd_exec | lx::mfd_noexec_seal};
    f.v = fl[pick(6)];
    op.args = {n, f};
    return op;
  }
  uint64_t fd = fds_.empty() ? 3 : static_cast<uint64_t>(fds_[pick(fds_.size())].fd);
  if (chance(0.1)) fd = 50 + pick(10);
  if (r < 72) {
    if (chance(0.2)) return call(chance(0.5) ? "fsync" : "fdatasync", {fd});
    const uint64_t lens[] = {0, P, 5000, 3 * P, 2ull << 20, ~0ull};
    return call("ftruncate", {fd, lens[pick(6)]});
  }
  if (r < 80) return io_op(s, fd);
  if (r < 85) return call("close", {fd});
  if (r < 89) return call("dup", {fd});
  if (r < 94) return call("dup2", {fd, 3 + pick(40)});
  return call("dup3", {fd, 3 + pick(40), chance(0.8) ? (chance(0.5) ? lx::o_cloexec : 0) : 1});
}

// read, write, pread64, pwrite64 or lseek on fd, with a buffer of the oracle's own (at most
// 4096 bytes) or, now and then, guest memory (a touchable page, or one that is not mapped).
Op Generator::io_op(Session &s, uint64_t fd) {
  for (const OpenFd &f : fds_)
    if (static_cast<uint64_t>(f.fd) == fd && f.path == "fifo") fd = 50;  // pipes: not modelled
  const uint64_t r = pick(100);
  const uint64_t offs[] = {0, 1, P - 2, P, 5000, 3 * P + 5, 1ull << 20, ~0ull, 0xffffffff000ull};
  if (r < 20) {
    const uint64_t whence = pick(100) < 95 ? pick(5) : 5 + pick(3);
    const int64_t rel[] = {0, 1, -1, 100, -4096, 4096, 1 << 20, -(1ll << 40)};
    const uint64_t off =
        whence == 0 || whence >= 3 ? offs[pick(9)] : static_cast<uint64_t>(rel[pick(8)]);
    Op op = call("lseek", {fd, off, whence});
    return op;
  }
  const bool write = r >= 60, positional = pick(2) == 0;
  // The oracle's buffer holds 4096 bytes; guest buffers may be longer.
  const uint64_t counts[] = {0, 1, 7, 100, P - 1, P, 4096, P + 3};
  uint64_t count = counts[pick(7)];
  ArgVal buf;
  if (pick(100) < 12) {
    std::vector<vmspace::VmaInfo> ok = touchable(s, !write);
    if (!ok.empty() && pick(4)) {
      const vmspace::VmaInfo &v = ok[pick(ok.size())];
      buf.v = v.start + pick((v.end - v.start) / 16) * 8;
      if (pick(4) == 0) count = counts[7];
    } else {
      buf.v = pick(2) ? 0x1000 : 0x7ffffffff000ull - pick(2) * 8;
    }
  } else {
    buf.is_str = true;
    if (write) {
      const uint64_t n = std::min<uint64_t>(count, 1 + pick(40));
      for (uint64_t i = 0; i < n; i++)
        buf.s += pick(4) ? static_cast<char>('a' + pick(26)) : static_cast<char>(pick(256));
      count = pick(4) ? buf.s.size() : count;
    }
  }
  Op op = call(write ? (positional ? "pwrite64" : "write") : (positional ? "pread64" : "read"),
               {fd, 0, count});
  op.args[1] = buf;
  if (positional) {
    ArgVal off;
    off.v = offs[pick(9)];
    op.args.push_back(off);
  }
  return op;
}

// Memory the model says is writable and backed (never past the end of a file), outside the
// oracle's own, without guard markers.
std::vector<vmspace::VmaInfo> Generator::touchable(Session &s, bool write) {
  std::vector<vmspace::VmaInfo> ok;
  for (const vmspace::VmaInfo &v : s.proc(slot_).vmas()) {
    if (!(v.flags & (write ? vm::write : vm::read)) ||
        overlaps_protected(s, v.start, v.end - v.start))
      continue;
    if (v.flags & (0x400000 | vm::maybe_guard)) continue;  // hugetlb, guard markers
    if (v.name.find("/memfd:") == 0 || v.name.find("[v") == 0) continue;
    if (!v.anonymous && v.name != "/dev/zero (deleted)" && v.name != "/dev/zero") {
      // A file: only pages inside it.
      uint64_t size = 0;
      bool known = false;
      for (const OpenFd &f : fds_)
        if (!f.path.empty() && v.name.size() > f.path.size() &&
            v.name.compare(v.name.size() - f.path.size(), f.path.size(), f.path) == 0 &&
            v.name[v.name.size() - f.path.size() - 1] == '/') {
          size = f.size;
          known = true;
        }
      if (!known || v.pgoff * P + (v.end - v.start) > ((size + P - 1) & ~(P - 1))) continue;
    }
    ok.push_back(v);
  }
  return ok;
}

Op Generator::touch_op(Session &s) {
  const bool write = chance(0.6);
  std::vector<vmspace::VmaInfo> ok = touchable(s, write);
  if (ok.empty()) return mmap_op(s);
  const vmspace::VmaInfo &v = ok[pick(ok.size())];
  Op op;
  op.kind = Op::Touch;
  uint64_t pages = (v.end - v.start) / P;
  uint64_t first = pick(pages);
  op.addr = v.start + first * P + (chance(0.3) ? pick(P) : 0);
  op.len = std::min<uint64_t>(pages - first, 1 + pick(4)) * P;
  if (!chance(0.03)) op.len = std::min(op.len, v.end - op.addr);  // rarely past the end
  op.write = write;
  return op;
}

// Loads and stores of guest bytes: peek anywhere readable, poke and memset where writable,
// mostly inside one VMA, sometimes across its end (a fault ends that process).
Op Generator::memory_op(Session &s) {
  const uint64_t r = pick(100);
  const bool load = r < 45;
  std::vector<vmspace::VmaInfo> ok = touchable(s, !load);
  if (ok.empty()) return touch_op(s);
  const vmspace::VmaInfo &v = ok[pick(ok.size())];
  Op op;
  op.kind = load ? Op::Peek : r < 85 ? Op::Poke : Op::Memset;
  const uint64_t size = v.end - v.start;
  uint64_t len = chance(0.7) ? 1 + pick(64) : 1 + pick(chance(0.5) ? 600 : 4096);
  // A page boundary, the VMA's start or somewhere inside.
  uint64_t at = pick(size);
  if (chance(0.3)) at = (at & ~(P - 1)) - std::min<uint64_t>(at & ~(P - 1), pick(16));
  if (at + len > size && !chance(0.05)) len = size - at;  // rarely past the end
  if (len == 0) len = 1;
  op.addr = v.start + at;
  op.len = len;
  if (op.kind == Op::Poke) {
    op.bytes.resize(std::min<uint64_t>(len, 4000));
    for (char &c : op.bytes) c = static_cast<char>(chance(0.3) ? 0 : pick(256));
  } else if (op.kind == Op::Memset) {
    op.byte = static_cast<uint8_t>(pick(256));
  }
  return op;
}

Op Generator::rlimit_op(Session &s) {
  Op op;
  op.kind = Op::Rlimit;
  const int res[] = {lx::rlimit_as, lx::rlimit_data, lx::rlimit_memlock, lx::rlimit_as,
                     lx::rlimit_data};
  op.resource = res[pick(5)];
  uint64_t total = 0, data = 0;
  for (const vmspace::VmaInfo &v : s.proc(slot_).vmas()) {
    total += v.end - v.start;
    if ((v.flags & (0x2 | 0x8 | 0x100)) == 0x2) data += v.end - v.start;
  }
  uint64_t base = op.resource == lx::rlimit_data ? data : op.resource == lx::rlimit_as ? total : 0;
  uint64_t r = pick(100);
  if (r < 40)
    op.soft = base + pick(8) * P;
  else if (r < 55)
    op.soft = 0;
  else if (r < 70)
    op.soft = pick(64) * P;
  else
    op.soft = lx::rlim_infinity;
  op.hard = chance(0.7) ? lx::rlim_infinity : std::max(op.soft, op.soft + pick(4) * P);
  if (op.resource == lx::rlimit_memlock && op.hard == lx::rlim_infinity && chance(0.5))
    op.hard = 8ull << 20;
  return op;
}

uint64_t Generator::mapped_in(Session &s, uint64_t addr, uint64_t len) {
  uint64_t end = addr + len < addr ? ~0ull : addr + len, total = 0;
  for (const vmspace::VmaInfo &v : s.proc(slot_).vmas()) {
    uint64_t a = std::max(addr, v.start), e = std::min(end, v.end);
    if (a < e) total += e - a;
  }
  return total;
}

bool Generator::guarded_in(Session &s, uint64_t addr, uint64_t len) {
  uint64_t end = addr + len < addr ? ~0ull : addr + len;
  for (const vmspace::VmaInfo &v : s.proc(slot_).vmas())
    if ((v.flags & vm::maybe_guard) && v.start < end && v.end > addr) return true;
  return false;
}

void Generator::some_range(Session &s, uint64_t *addr, uint64_t *len) {
  std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
  uint64_t r = pick(100);
  if (r < 70 && !vmas.empty()) {
    size_t i = pick(vmas.size());
    const vmspace::VmaInfo &v = vmas[i];
    *addr = v.start + (pick(3) ? 0 : pick((v.end - v.start) / P) * P);
    uint64_t span = v.end - *addr;
    if (pick(4) == 0 && i + 1 < vmas.size()) span = vmas[i + 1].end - *addr;  // into the next
    *len = chance(0.5) ? span : std::min(span, (1 + pick(4)) * P);
    if (chance(0.1)) *len += P;  // past the end
    if (chance(0.05)) *len -= std::min(*len, P / 2);
  } else {
    *addr = some_addr(s, P, false);
    *len = some_len();
  }
  if (chance(0.03)) *len = 0;
  if (chance(0.03)) *addr += 1 + pick(P - 1);
}

Op Generator::mremap_op(Session &s) {
  std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
  for (int attempt = 0; attempt < 20; attempt++) {
    uint64_t addr, old_len;
    bool locked = false;
    if (!vmas.empty() && chance(0.85)) {
      const vmspace::VmaInfo &v = vmas[pick(vmas.size())];
      locked = v.flags & vm::locked;
      addr = v.start + (pick(4) ? 0 : pick((v.end - v.start) / P) * P);
      uint64_t size = v.end - addr;
      uint64_t r = pick(100);
      if (r < 55)
        old_len = size;
      else if (r < 80)
        old_len = std::min(size, (1 + pick(4)) * P);
      else if (r < 88)
        old_len = 0;  // a second mapping of a shared one
      else if (r < 94)
        old_len = size + (1 + pick(3)) * P;  // beyond the VMA
      else
        old_len = 1 + pick(P);
    } else {
      addr = some_addr(s, P, false);
      old_len = some_len();
    }
    uint64_t new_len;
    uint64_t r = pick(100);
    if (r < 40)
      new_len = old_len + (1 + pick(8)) * P;
    else if (r < 60)
      new_len = old_len > P ? old_len - (1 + pick(old_len / P - 1)) * P : P;
    else if (r < 70)
      new_len = old_len;
    else if (r < 80)
      new_len = (1 + pick(64)) * P;
    else if (r < 85)
      new_len = 0;
    else if (r < 90)
      new_len = old_len + 1 + pick(P);
    else
      new_len = some_len();
    uint64_t flags;
    r = pick(100);
    if (r < 15)
      flags = 0;
    else if (r < 55)
      flags = lx::mremap_maymove;
    else if (r < 75)
      flags = lx::mremap_maymove | lx::mremap_fixed;
    else if (r < 87)
      flags = lx::mremap_maymove | lx::mremap_dontunmap;
    else if (r < 90)
      flags = lx::mremap_maymove | lx::mremap_fixed | lx::mremap_dontunmap;
    else if (r < 93)
      flags = lx::mremap_fixed;
    else if (r < 96)
      flags = lx::mremap_dontunmap;
    else
      flags = pick(16) | (chance(0.5) ? 0 : 1ull << (3 + pick(29)));
    uint64_t new_addr = 0;
    if (flags & lx::mremap_fixed) {
      new_addr = some_addr(s, new_len, true);
      if (chance(0.1)) new_addr = addr;  // overlapping the source
    } else if (chance(0.05)) {
      new_addr = some_addr(s, new_len, false);  // ignored without MREMAP_FIXED
    }
    // Locked memory is populated where it grows: keep that small.
    if ((locked || future_locked()) && new_len > old_len + 16 * P && new_len <= kTaskSize)
      new_len = old_len + (1 + pick(16)) * P;
    if (overlaps_protected(s, addr, old_len ? old_len : P)) continue;
    if ((flags & lx::mremap_fixed) && overlaps_protected(s, new_addr, new_len ? new_len : P))
      continue;
    if (flags & lx::mremap_fixed) return call("mremap", {addr, old_len, new_len, flags, new_addr});
    if (new_addr || chance(0.5)) return call("mremap", {addr, old_len, new_len, flags, new_addr});
    return call("mremap", {addr, old_len, new_len, flags});
  }
  return call("mremap", {0x100000000ull + 1, P, 2 * P, lx::mremap_maymove});
}

Op Generator::brk_op(Session &s) {
  const vmspace::MmLayout mm = s.proc(slot_).layout();
  const uint64_t cur = mm.brk, start = mm.start_brk;
  uint64_t v;
  uint64_t r = pick(100);
  if (r < 10)
    v = 0;
  else if (r < 45)
    v = cur + pick(12 * P) + (chance(0.5) ? 0 : P * pick(64));  // grow, often unaligned
  else if (r < 65)
    v = cur - std::min(cur - start, pick(8 * P));  // shrink
  else if (r < 72)
    v = start;
  else if (r < 77)
    v = start - (1 + pick(4)) * P;  // below the start: refused
  else if (r < 82)
    v = cur + (1ull << 30);
  else if (r < 87)
    v = cur + (64ull << 20) + pick(P);
  else if (r < 92) {
    // Up to the next VMA (the guard-gap and one-free-page rule).
    std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
    v = cur + P;
    for (const vmspace::VmaInfo &x : vmas)
      if (x.start >= cur) {
        v = x.start - pick(3) * P + (chance(0.3) ? 1 : 0);
        break;
      }
  } else {
    const uint64_t odd[] = {~0ull, kTaskSize, 1ull << 47, 0x1000, start + 1};
    v = odd[pick(5)];
  }
  // A locked heap is populated as it grows.
  if (future_locked() && v > cur + kMaxPopulate && v <= kTaskSize) v = cur + pick(16 * P);
  return call("brk", {v});
}

// What locking [addr, addr+len) would make the kernel fault in: everything, or with
// on-fault locking only the VMAs that cannot be locked (droppable, special, hugetlb), which
// mm_populate still walks.
uint64_t Generator::lock_cost(Session &s, uint64_t addr, uint64_t len, bool onfault) {
  uint64_t end = addr + len < addr ? ~0ull : addr + len, total = 0;
  for (const vmspace::VmaInfo &v : s.proc(slot_).vmas()) {
    uint64_t a = std::max(addr, v.start), e = std::min(end, v.end);
    if (a >= e) continue;
    if (!onfault || (v.flags & (vm::droppable | kVmSpecial | vm::hugetlb))) total += e - a;
  }
  return total;
}

Op Generator::mlock_op(Session &s) {
  uint64_t r = pick(100);
  uint64_t addr, len;
  some_range(s, &addr, &len);
  // Locking populates: at most a few MiB, and never pages behind guard markers.
  const bool guarded = guarded_in(s, addr, len);
  const bool full_ok = !guarded && lock_cost(s, addr, len, false) <= kMaxPopulate;
  const bool onfault_ok = !guarded && lock_cost(s, addr, len, true) <= kMaxPopulate;
  if (r < 50) {
    uint64_t f = r < 30 ? 0 : (chance(0.7) ? lx::mlock_onfault : 0);
    if (chance(0.08)) f = 2 + pick(6);  // unknown flags: EINVAL
    if (!full_ok) f |= lx::mlock_onfault;
    if (!onfault_ok) return call("munlock", {addr, len});
    if (r < 30 && !f) return call("mlock", {addr, len});
    return call("mlock2", {addr, len, f});
  }
  if (r < 75) return call("munlock", {addr, len});
  if (r < 90) {
    const uint64_t choices[] = {lx::mcl_current,
                                lx::mcl_future,
                                lx::mcl_current | lx::mcl_future,
                                lx::mcl_current | lx::mcl_onfault,
                                lx::mcl_future | lx::mcl_onfault,
                                lx::mcl_current | lx::mcl_future | lx::mcl_onfault,
                                lx::mcl_onfault,
                                0,
                                8,
                                lx::mcl_current | 0x10};
    uint64_t f = choices[pick(10)];
    const bool all_guarded = guarded_in(s, 0, ~0ull);
    if ((f & lx::mcl_current) && !(f & lx::mcl_onfault) &&
        (all_guarded || lock_cost(s, 0, ~0ull, false) > kMaxPopulate))
      f |= lx::mcl_onfault;
    if ((f & lx::mcl_current) && (all_guarded || lock_cost(s, 0, ~0ull, true) > kMaxPopulate))
      f &= ~lx::mcl_current;
    return call("mlockall", {f});
  }
  return call("munlockall", {});
}

Op Generator::madvise_op(Session &s) {
  const uint64_t advice_list[] = {0,  1,  2,  3,  4,  8,  9,  10, 11, 12,  13,  14,  15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 102, 103, 100, 101};
  uint64_t advice = advice_list[pick(sizeof advice_list / sizeof advice_list[0])];
  if (chance(0.04)) advice = 26 + pick(70);  // unknown
  if (chance(0.01)) advice = 1ull << (32 + pick(31));
  for (int attempt = 0; attempt < 20; attempt++) {
    uint64_t addr, len;
    some_range(s, &addr, &len);
    // A collapse of whole PMDs depends on which pages are present (the page layer's).
    if (advice == 25 && len >= (2ull << 20) && len < kTaskSize) len = pick(2ull << 20);
    uint64_t check_len = len ? len : P;
    if (overlaps_protected(s, addr & ~(P - 1), check_len + P)) continue;
    if (populating(advice) && (mapped_in(s, addr, len) > kMaxPopulate || guarded_in(s, addr, len)))
      continue;
    // Guard markers fill page tables: a terabyte of them costs the kernel gigabytes and every
    // later smaps read seconds.
    if (advice == lx::madv_guard_install && mapped_in(s, addr, len) > kMaxGuarded) continue;
    return call("madvise", {addr, len, advice});
  }
  return call("madvise", {0x100000000ull, P, 0});
}

Op Generator::msync_op(Session &s) {
  uint64_t addr, len;
  some_range(s, &addr, &len);
  const uint64_t choices[] = {lx::ms_async,
                              lx::ms_sync,
                              lx::ms_invalidate,
                              lx::ms_async | lx::ms_invalidate,
                              lx::ms_sync | lx::ms_invalidate,
                              lx::ms_async | lx::ms_sync,
                              0,
                              8,
                              lx::ms_sync | 0x100};
  return call("msync", {addr, len, choices[pick(9)]});
}

Op Generator::mincore_op(Session &s) {
  uint64_t addr, len;
  some_range(s, &addr, &len);
  Op op = call("mincore", {addr, len, 0});
  uint64_t r = pick(100);
  if (r < 70 && len <= (4096 * P) && !overlaps_protected(s, addr, len)) {
    // The oracle's own buffer (a page of vector: at most 4096 pages). Not over the oracle's
    // own memory, whose pages vmspace's copy of the layout does not hold.
    op.args[2].opaque = true;
    op.args[2].s = "[0]";
  } else if (r < 80) {
    op.args[2].v = 0;
  } else if (r < 85) {
    op.args[2].v = 0xffff800000000000ull;
  } else if (r < 90) {
    op.args[2].v = 0x10000 + pick(16) * P;  // unmapped guest memory
  } else {
    // Guest memory: writable, touchable, big enough for the vector.
    std::vector<vmspace::VmaInfo> ok = touchable(s);
    uint64_t need = (std::min<uint64_t>(len, 4096 * P) + P - 1) / P;
    op.args[2].v = 0;
    for (const vmspace::VmaInfo &v : ok)
      if (v.end - v.start >= need) op.args[2].v = v.start;
    if (len > 4096 * P) op.args[1].v = len = 4096 * P;
  }
  if (!op.args[2].opaque && len > 4096 * P) op.args[1].v = 4096 * P;
  return op;
}

Op Generator::mseal_op(Session &s) {
  uint64_t addr, len;
  some_range(s, &addr, &len);
  uint64_t flags = chance(0.9) ? 0 : 1ull << pick(8);
  return call("mseal", {addr, len, flags});
}

Op Generator::prctl_op(Session &s) {
  uint64_t addr, len;
  some_range(s, &addr, &len);
  Op op = call("prctl", {lx::pr_set_vma, 0, addr, len, 0});
  if (chance(0.8)) {
    op.args[4].is_str = true;
    op.args[4].s = chance(0.9) ? "name" + std::to_string(pick(3)) : "bad$";
  }
  return op;
}

Op Generator::fork_op(Session &s) {
  int free_slot = -1;
  for (int k = 1; k < Session::kSlots; k++)
    if (!s.alive(k)) free_slot = k;
  if (free_slot < 0) {
    // Every slot is taken: a child exits.
    for (int k = Session::kSlots - 1; k >= 1; k--)
      if (s.alive(k) && !s.blocked(k)) {
        Op op = call("exit_group", {0});
        op.slot = k;
        slot_ = k;
        return op;
      }
    return call("munlockall", {});
  }
  Op op = call(chance(0.25) ? "vfork" : "fork", {});
  op.child = free_slot;
  return op;
}

// Operations aimed where random ones rarely land (scripts/mutate.sh found these gaps): a hole
// filled exactly between two VMAs with histories of their own (each faulted: two anon_vmas),
// a split at exactly vm.max_map_count, and two bad arguments in one call, where only the
// order of Linux's checks decides the errno.
Op Generator::aimed_op(Session &s) {
  const std::vector<vmspace::VmaInfo> vmas = s.proc(slot_).vmas();
  // Private anonymous VMAs that merge and split like any other.
  auto plain = [&](const vmspace::VmaInfo &v) {
    constexpr uint64_t kOdd = vm::shared | vm::growsdown | vm::hugetlb | vm::maybe_guard |
                              vm::sealed | vm::droppable | kVmSpecial;
    return v.anonymous && v.name.empty() && !(v.flags & kOdd) &&
           !overlaps_protected(s, v.start, v.end - v.start + P);
  };
  auto prot_of = [](uint64_t f) {
    return ((f & vm::read) ? lx::prot_read : 0) | ((f & vm::write) ? lx::prot_write : 0) |
           ((f & vm::exec) ? lx::prot_exec : 0);
  };
  if (s.proc(slot_).map_count() > 60000) return near_limit_op(s, vmas, plain);
  const uint64_t r = pick(100);
  // Now and then: a one-sided split, the head or tail of a VMA taking another protection.
  if (r < 25) {
    std::vector<const vmspace::VmaInfo *> c;
    for (const vmspace::VmaInfo &v : vmas)
      if (plain(v) && v.end - v.start >= 2 * P) c.push_back(&v);
    if (!c.empty()) {
      const vmspace::VmaInfo &v = *c[pick(c.size())];
      const uint64_t prot = (v.flags & vm::write) ? lx::prot_read : lx::prot_read | lx::prot_write;
      const uint64_t n = 1 + pick(std::min<uint64_t>((v.end - v.start) / P - 1, 4));
      return call("mprotect", {chance(0.5) ? v.end - n * P : v.start, n * P, prot});
    }
  }
  if (r < 65) {
    // Holes of up to 64 pages between two plain VMAs of one protection.
    std::vector<size_t> holes;
    for (size_t i = 0; i + 1 < vmas.size(); i++)
      if (plain(vmas[i]) && plain(vmas[i + 1]) && vmas[i].end < vmas[i + 1].start &&
          vmas[i + 1].start - vmas[i].end <= 64 * P &&
          prot_of(vmas[i].flags) == prot_of(vmas[i + 1].flags))
        holes.push_back(i);
    if (!holes.empty()) {
      const vmspace::VmaInfo &a = vmas[holes[pick(holes.size())]];
      const vmspace::VmaInfo &b = *(&a + 1);
      // Give each neighbour its own history first: a fault makes its anon_vma.
      for (const vmspace::VmaInfo *v : {&a, &b})
        if (!v->has_anon_vma && (v->flags & vm::write) && chance(0.6)) {
          Op op;
          op.kind = Op::Touch;
          op.addr = v->start;
          op.len = P;
          op.write = true;
          return op;
        }
      return call("mmap", {a.end, b.start - a.end, prot_of(a.flags),
                           lx::map_private | lx::map_anonymous | lx::map_fixed, ~0ull, 0});
    }
    // Make such a hole: a page out of the middle of a never-faulted VMA leaves two VMAs
    // that will get an anon_vma each.
    for (int attempt = 0; attempt < 8 && !vmas.empty(); attempt++) {
      const vmspace::VmaInfo &v = vmas[pick(vmas.size())];
      if (plain(v) && !v.has_anon_vma && v.end - v.start >= 3 * P) {
        const uint64_t page = 1 + pick((v.end - v.start) / P - 2);
        return call("munmap", {v.start + page * P, P});
      }
    }
  }
  return two_bad_arguments(s, vmas);
}

// In a filled address space: walk the VMA count to a target just below or at
// vm.max_map_count (a new mapping far from the others adds one VMA, unmapping a whole VMA
// removes one), then make a call whose outcome depends on exactly how many VMAs are free: a
// one- or two-sided split, a munmap that splits in two, a new mapping, an mremap that moves
// (move_vma wants four free slots, MREMAP_FIXED more).
Op Generator::near_limit_op(Session &s, const std::vector<vmspace::VmaInfo> &vmas,
                            const std::function<bool(const vmspace::VmaInfo &)> &plain) {
  constexpr int kMax = 65530;  // the oracle's vm.max_map_count
  // Each call with the counts where its outcome changes (a one-sided split needs one free
  // slot, a two-sided one two, move_vma four, MREMAP_FIXED six; mmap fails only above).
  static constexpr int kEdges[][2] = {{kMax, kMax - 1},    {kMax, kMax - 1}, {kMax - 1, kMax - 2},
                                      {kMax, kMax - 1},    {kMax + 1, kMax}, {kMax - 3, kMax - 4},
                                      {kMax - 5, kMax - 6}};
  const int count = s.proc(slot_).map_count();
  if (limit_target_ < 0) {
    limit_case_ = static_cast<int>(pick(std::size(kEdges)));
    limit_target_ = kEdges[limit_case_][pick(2)];
  }
  // Three pages in a region of their own (the fill sits at 0x200000000).
  auto isolated = [&] {
    return call("mmap", {0x300000000000ull + pick(1 << 16) * 16 * P, 3 * P, lx::prot_read,
                         lx::map_private | lx::map_anonymous | lx::map_fixed_noreplace, ~0ull, 0});
  };
  std::vector<const vmspace::VmaInfo *> c;
  for (const vmspace::VmaInfo &v : vmas)
    if (plain(v) && v.end - v.start >= 3 * P) c.push_back(&v);
  if (count < limit_target_ || (c.empty() && count <= kMax)) return isolated();
  if (count > limit_target_) {
    for (int attempt = 0; attempt < 16; attempt++) {
      const vmspace::VmaInfo &w = vmas[pick(vmas.size())];
      if (plain(w)) return call("munmap", {w.start, w.end - w.start});
    }
    return two_bad_arguments(s, vmas);
  }
  const int what = limit_case_;
  limit_target_ = -1;  // on target: the call, then a new target
  if (c.empty()) return isolated();
  const vmspace::VmaInfo &v = *c[pick(c.size())];
  const uint64_t other = (v.flags & vm::write) ? lx::prot_read : lx::prot_read | lx::prot_write;
  switch (what) {
    case 0:  // the head takes another protection: the VMA splits at its end
      return call("mprotect", {v.start, P, other});
    case 1:  // the tail does
      return call("mprotect", {v.end - P, P, other});
    case 2:  // the middle does: two splits
      return call("mprotect", {v.start + P, P, other});
    case 3:
      return call("munmap", {v.start + P, P});
    case 4:
      return isolated();
    case 5:
      // A move that leaves the old range mapped (move_vma).
      return call("mremap", {v.start, v.end - v.start, v.end - v.start,
                             lx::mremap_maymove | lx::mremap_dontunmap, 0});
    default:
      return call("mremap", {v.start, P, P, lx::mremap_maymove | lx::mremap_fixed,
                             0x7e0000000000ull + pick(64) * P});
  }
}

// Calls with two bad arguments whose errnos differ.
Op Generator::two_bad_arguments(Session &s, const std::vector<vmspace::VmaInfo> &vmas) {
  // A range over two VMAs and the hole between them.
  uint64_t hole_start = 0x100000000ull, hole_len = 3 * P;
  for (size_t i = 0; i + 1 < vmas.size(); i++)
    if (vmas[i].end < vmas[i + 1].start && chance(0.3) &&
        !overlaps_protected(s, vmas[i].start, vmas[i + 1].end - vmas[i].start)) {
      hole_start = vmas[i].start;
      hole_len = vmas[i + 1].end - vmas[i].start;
    }
  const uint64_t unknown_map = 0x200000ull << pick(4);  // no MAP_* flag has these bits
  switch (pick(9)) {
    case 0: {
      // MAP_SHARED_VALIDATE with an unknown flag, PROT_WRITE on a read-only descriptor:
      // EOPNOTSUPP before EACCES.
      uint64_t fd = 3;
      for (const OpenFd &f : fds_)
        if ((f.flags & lx::o_accmode) == lx::o_rdonly && chance(0.7))
          fd = static_cast<uint64_t>(f.fd);
      return call("mmap", {0, P, lx::prot_read | lx::prot_write,
                           lx::map_shared_validate | unknown_map, fd, 0});
    }
    case 1: {
      // A wrapping end and unknown protection bits: ENOMEM before EINVAL.
      const uint64_t addr = kTaskSize - (1 + pick(4)) * P;
      return call("mprotect",
                  {addr, ~0ull - addr + 1 + pick(8) * P, lx::prot_read | (0x10ull << pick(3))});
    }
    case 2:
      // An unknown advice over a hole: EINVAL before ENOMEM.
      return call("madvise", {hole_start, hole_len, 26 + pick(70)});
    case 3:
      // mlock2 with an unknown flag over a hole.
      return call("mlock2", {hole_start, hole_len, 2ull << pick(4)});
    case 4:
      // msync with MS_SYNC and MS_ASYNC together over a hole.
      return call("msync", {hole_start, hole_len, lx::ms_sync | lx::ms_async});
    case 5:
      // mseal with flags over a hole.
      return call("mseal", {hole_start, hole_len, 1ull << pick(4)});
    case 6:
      // mremap of nothing to a length beyond TASK_SIZE.
      return call("mremap", {0x10000ull + pick(16) * P, P, kTaskSize + P, lx::mremap_maymove, 0});
    case 7:
      // MAP_FIXED at an unaligned address with a descriptor that is not open.
      return call("mmap", {0x100000000ull + 1 + pick(P - 1), P, lx::prot_read,
                           lx::map_private | lx::map_fixed, 200 + pick(50), 0});
    default:
      // Length 0 with an unknown MAP_SHARED_VALIDATE flag, anonymous.
      return call("mmap", {0, 0, lx::prot_read,
                           lx::map_shared_validate | lx::map_anonymous | unknown_map, ~0ull, 0});
  }
}

Op Generator::next(Session &s) {
  ops_++;
  // The process: mostly the first; any live one that is not waiting for a vfork child.
  std::vector<int> ready;
  for (int k = 0; k < Session::kSlots; k++)
    if (s.alive(k) && !s.blocked(k)) ready.push_back(k);
  slot_ = ready.empty() ? 0 : ready[pick(ready.size())];
  if (chance(0.5) && !s.blocked(0)) slot_ = 0;
  // A vfork child runs until it exits, soon.
  if (slot_ != 0 && mm_of_[slot_] != slot_ && chance(0.15)) {
    Op op = call("exit_group", {0});
    op.slot = slot_;
    return op;
  }
  Op op;
  uint64_t r = pick(1000);
  // Aimed ops now and then; in a filled address space (few ops, each costly) mostly.
  if (chance(s.proc(slot_).map_count() > 60000 ? 0.5 : 0.06))
    op = aimed_op(s);
  else if (r < 210)
    op = mmap_op(s);
  else if (r < 300)
    op = munmap_op(s);
  else if (r < 440)
    op = mprotect_op(s);
  else if (r < 530)
    op = slot_ == 0 ? file_op(s) : mmap_op(s);
  else if (r < 552)
    op = touch_op(s);
  else if (r < 570)
    op = slot_ == 0 && !fds_.empty() ? io_op(s, static_cast<uint64_t>(fds_[pick(fds_.size())].fd))
                                     : touch_op(s);
  else if (r < 610)
    op = memory_op(s);
  else if (r < 625)
    op = rlimit_op(s);
  else if (r < 715)
    op = mremap_op(s);
  else if (r < 755)
    op = brk_op(s);
  else if (r < 815)
    op = mlock_op(s);
  else if (r < 905)
    op = madvise_op(s);
  else if (r < 925)
    op = msync_op(s);
  else if (r < 945)
    op = mincore_op(s);
  else if (r < 960)
    op = mseal_op(s);
  else if (r < 968)
    op = prctl_op(s);
  else if (r < 984)
    op = fork_op(s);
  else if (slot_ != 0) {
    op = call("exit_group", {0});
  } else {
    op = memory_op(s);
  }
  if (op.slot == 0) op.slot = slot_;
  return op;
}

void Generator::observe(const Op &op, const Answer &a) {
  if (op.kind != Op::Call) return;
  slot_ = op.slot;
  if (op.name == "mlockall" && (op.args[0].v & lx::mcl_future)) future_locked() = true;
  if (op.name == "munlockall" && a.ok) future_locked() = false;
  if ((op.name == "fork" || op.name == "vfork") && a.ok && op.child > 0) {
    const bool vfork = op.name == "vfork";
    mm_of_[op.child] = vfork ? mm_of_[op.slot] : op.child;
    if (!vfork) mcl_future_[op.child] = false;  // not inherited (Linux: mm_init)
  }
  if (op.name == "exit_group" && op.slot > 0) mm_of_[op.slot] = op.slot;
  if (op.slot != 0) return;  // descriptors are tracked for the first process
  auto drop = [&](int fd) {
    fds_.erase(
        std::remove_if(fds_.begin(), fds_.end(), [&](const OpenFd &f) { return f.fd == fd; }),
        fds_.end());
  };
  auto find = [&](int fd) -> const OpenFd * {
    for (const OpenFd &f : fds_)
      if (f.fd == fd) return &f;
    return nullptr;
  };
  if ((op.name == "open" || op.name == "openat") && a.ok) {
    const ArgVal &p = op.name == "open" ? op.args[0] : op.args[1];
    uint64_t fl = op.name == "open" ? op.args[1].v : op.args[2].v;
    uint64_t size = sizes_.count(p.s) ? sizes_[p.s] : 0;
    drop(static_cast<int>(a.value));
    fds_.push_back({static_cast<int>(a.value), p.s, fl, size});
  } else if (op.name == "memfd_create" && a.ok) {
    drop(static_cast<int>(a.value));
    fds_.push_back(
        {static_cast<int>(a.value), "", lx::o_rdwr, 0, (op.args[1].v & lx::mfd_hugetlb) != 0});
  } else if (op.name == "close" && a.ok) {
    drop(static_cast<int>(op.args[0].v));
  } else if ((op.name == "dup" || op.name == "dup2" || op.name == "dup3") && a.ok) {
    const OpenFd *f = find(static_cast<int>(op.args[0].v));
    OpenFd copy = f ? *f : OpenFd{0, "", 0, 0};
    drop(static_cast<int>(a.value));
    if (f) {
      copy.fd = static_cast<int>(a.value);
      fds_.push_back(copy);
    }
  } else if (op.name == "ftruncate" && a.ok) {
    for (OpenFd &f : fds_)
      if (f.fd == static_cast<int>(op.args[0].v)) {
        uint64_t sz = op.args[1].v;
        // Every descriptor of that file sees the new size.
        std::string path = f.path;
        for (OpenFd &g : fds_)
          if (!path.empty() && g.path == path) g.size = sz;
        f.size = sz;
        if (!path.empty()) sizes_[path] = sz;
      }
  }
}

}  // namespace difftest
