#include "trace/memory_directives.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "trace/script_check.hpp"
#include "trace/symbols.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {

// Addresses in an expected fault compare as numbers: 0x00001000 is 0x1000.
std::string normal_fault_word(const std::string &w) {
  if (w.size() > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
    char *end = nullptr;
    const unsigned long long v = std::strtoull(w.c_str() + 2, &end, 16);
    if (end && !*end) return fmt_hex0x(v);
  }
  return w;
}

std::string pid_prefix(const Directive &d) { return d.pid ? std::to_string(d.pid) + " " : ""; }

void count(MemoryDirectiveIo &io, bool same) {
  if (!io.stats) return;
  io.stats->calls++;
  if (!same) io.stats->calls_differing++;
}

// @touch ADDR LEN read|write|exec SIGSEGV|SIGBUS SI_CODE: a recorded trace's fault (the
// kernel's signal and code at ADDR).
bool recorded_touch(Process &p, const Directive &d, MemoryDirectiveIo &io) {
  uint64_t addr, len;
  if (!io.value(d.words[0], &addr) || !io.value(d.words[1], &len)) return false;
  const bool write = d.words[2] == "write", exec = d.words[2] == "exec";
  Fault f = p.access(addr, len, write, exec);
  io.print(pid_prefix(d) + "@touch " + fmt_hex(addr) + " " + fmt_dec(len) + " " + d.words[2] +
           "  # " + fmt_fault(f));
  const int want_sig = d.words[3] == "SIGBUS" ? 7 : 11;
  uint64_t want_code = 0;
  if (!directive_number(d.words[4], &want_code)) {
    io.error("@touch: bad si_code");
    return false;
  }
  // SI_KERNEL (a non-canonical address): the kernel's si_addr is 0, the line's address is
  // where the program's instruction pointed.
  const uint64_t want_addr = want_code == lx::si_kernel ? 0 : addr;
  const bool same =
      f.signal == want_sig && static_cast<uint64_t>(f.code) == want_code && f.addr == want_addr;
  count(io, same);
  if (!same)
    io.mismatch(d.words[3] + " si_code=" + d.words[4] + " si_addr=" + fmt_hex(want_addr),
                f ? std::string(f.signal == 7 ? "SIGBUS" : "SIGSEGV") +
                        " si_code=" + std::to_string(f.code) + " si_addr=" + fmt_hex(f.addr)
                  : std::string("no fault"));
  return true;
}

}  // namespace

bool run_memory_directive(Process &p, const Directive &d, MemoryDirectiveIo &io) {
  if (d.name == "touch" && d.words.size() == 5 && !d.quoted[3] &&
      (d.words[3] == "SIGSEGV" || d.words[3] == "SIGBUS"))
    return recorded_touch(p, d, io);
  // The operands, then "= RESULT".
  size_t eq = d.words.size();
  for (size_t k = 0; k < d.words.size(); k++)
    if (d.words[k] == "=" && !d.quoted[k]) {
      eq = k;
      break;
    }
  uint64_t addr;
  if (!io.value(d.words[0], &addr)) return false;
  std::string args, actual;
  Fault f;
  if (d.name == "poke") {
    const std::string &bytes = d.words[1];
    f = p.write(addr, bytes.data(), bytes.size());
    args = fmt_hex(addr) + " " + fmt_bytes(bytes);
    actual = f ? fmt_fault(f) : "0";
  } else {
    uint64_t len;
    if (!io.value(d.words[1], &len)) return false;
    args = fmt_hex(addr) + " " + fmt_dec(len);
    if (d.name == "peek") {
      if (len > 4096) {
        io.error("@peek: at most 4096 bytes");
        return false;
      }
      std::string buf(len, '\0');
      f = p.read(addr, buf.data(), len);
      actual = f ? fmt_fault(f) : fmt_bytes(buf);
    } else if (d.name == "fill") {
      uint64_t byte;
      if (!io.value(d.words[2], &byte)) return false;
      if (byte > 255) {
        io.error("@fill: the byte must be 0-255");
        return false;
      }
      f = p.fill(addr, static_cast<uint8_t>(byte), len);
      args += " " + fmt_dec(byte);
      actual = f ? fmt_fault(f) : "0";
    } else {
      const std::string how = d.words.size() > 2 && eq > 2 ? d.words[2] : "write";
      f = p.access(addr, len, how == "write", how == "exec");
      args += " " + how;
      actual = f ? fmt_fault(f) : "0";
    }
  }
  io.print(pid_prefix(d) + "@" + d.name + " " + args + " = " + actual);
  if (eq < d.words.size()) {
    std::string expected;
    for (size_t k = eq + 1; k < d.words.size(); k++)
      expected += (expected.empty() ? "" : " ") +
                  (d.quoted[k] ? fmt_bytes(d.words[k]) : normal_fault_word(d.words[k]));
    count(io, expected == actual);
    if (expected != actual) io.mismatch(expected, actual);
  }
  return true;
}

Errno guest_path(Process &p, uint64_t addr, std::string *out) {
  constexpr uint64_t kPathMax = 4096;
  const uint64_t page = p.page_size();
  out->clear();
  char buf[kPathMax];
  uint64_t got = 0;
  while (got < kPathMax) {
    const uint64_t a = addr + got;
    if (a < addr) return Errno::fault;  // past the top of the address space
    const uint64_t n = std::min(page - (a & (page - 1)), kPathMax - got);
    const Fault f = p.read(a, buf + got, n);
    const uint64_t loaded = f ? f.addr - a : n;
    for (uint64_t k = 0; k < loaded; k++)
      if (buf[got + k] == 0) {
        out->assign(buf, got + k);
        return Errno::none;
      }
    if (f) return Errno::fault;
    got += n;
  }
  return Errno::nametoolong;
}

}  // namespace vmspace
