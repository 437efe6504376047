// /proc/PID/maps, byte for byte (Linux: fs/proc/task_mmu.c).
//
// Each line is "start-end perms offset major:minor inode " with hex fields of at least 8
// (addresses, offset) or 2 (device) digits; a name, when there is one, starts after padding
// to column 72 and one more space. Paths escape "\n" as "\012".
#include "proc/maps.hpp"

#include "mm/address_space.hpp"
#include "vma/vma.hpp"

namespace vmspace {

namespace {
void put_hex(std::string &out, uint64_t v, int width) {
  char buf[32];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  for (int i = n; i < width; i++) out += '0';
  while (n) out += buf[--n];
}

void put_dec(std::string &out, uint64_t v) {
  char buf[32];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out += buf[--n];
}

void put_prefix(std::string &out, uint64_t start, uint64_t end, uint64_t flags, uint64_t off,
                uint32_t maj, uint32_t min, uint64_t ino) {
  put_hex(out, start, 8);
  out += '-';
  put_hex(out, end, 8);
  out += ' ';
  out += (flags & vm::read) ? 'r' : '-';
  out += (flags & vm::write) ? 'w' : '-';
  out += (flags & vm::exec) ? 'x' : '-';
  out += (flags & vm::mayshare) ? 's' : 'p';
  out += ' ';
  put_hex(out, off, 8);
  out += ' ';
  put_hex(out, maj, 2);
  out += ':';
  put_hex(out, min, 2);
  out += ' ';
  put_dec(out, ino);
  out += ' ';
}

void put_name(std::string &out, size_t line_start, const std::string &name) {
  size_t width = out.size() - line_start;
  if (width < 72) out.append(72 - width, ' ');
  out += ' ';
  out += name;
}

// seq_file_path(m, file, "\n"): newlines in paths print as \012.
std::string escape_path(const std::string &p) {
  std::string r;
  for (char c : p) {
    if (c == '\n')
      r += "\\012";
    else
      r += c;
  }
  return r;
}
}  // namespace

std::string vma_name(const AddressSpace &mm, const Vma &v) {
  if (v.file) {
    if (v.anon_name) return "[anon_shmem:" + v.anon_name->name + "]";
    return escape_path(v.file->maps_path());
  }
  switch (v.special) {
    case Special::vvar:
      return "[vvar]";
    case Special::vvar_vclock:
      return "[vvar_vclock]";
    case Special::vdso:
      return "[vdso]";
    case Special::vsyscall:
      return "[vsyscall]";
    case Special::none:
      break;
  }
  if (v.start < mm.brk && v.end > mm.start_brk) return "[heap]";
  if (v.start <= mm.start_stack && v.end >= mm.start_stack) return "[stack]";
  if (v.anon_name) return "[anon:" + v.anon_name->name + "]";
  return "";
}

void render_maps_line(const AddressSpace &mm, const Vma &v, std::string &out) {
  size_t line_start = out.size();
  uint64_t off = 0;
  uint32_t maj = 0, min = 0;
  uint64_t ino = 0;
  if (v.file) {
    off = v.pgoff << mm.page_shift;
    maj = v.file->dev_major();
    min = v.file->dev_minor();
    ino = v.file->ino();
  }
  put_prefix(out, v.start, v.end, v.flags, off, maj, min, ino);
  std::string name = vma_name(mm, v);
  if (!name.empty()) put_name(out, line_start, name);
  out += '\n';
}

std::string render_maps(const AddressSpace &mm) {
  std::string out;
  out.reserve(mm.vmas.tree.size() * 100 + 128);
  for (const Vma *v = mm.vmas.tree.first(); v; v = VmaTree::next(v)) render_maps_line(mm, *v, out);
  if (mm.has_vsyscall) {
    // The gate area is not a VMA of the mm but is listed last (Linux: get_gate_vma).
    size_t line_start = out.size();
    put_prefix(out, 0xffffffffff600000ull, 0xffffffffff601000ull, vm::exec, 0, 0, 0, 0);
    put_name(out, line_start, "[vsyscall]");
    out += '\n';
  }
  return out;
}

namespace {
// The two-letter codes of smaps' VmFlags line, by flag.
struct Mnemonic {
  uint64_t flag;
  char code[3];
};
constexpr Mnemonic kMnemonics[] = {
    {vm::read, "rd"},       {vm::write, "wr"},       {vm::exec, "ex"},
    {vm::shared, "sh"},     {vm::mayread, "mr"},     {vm::maywrite, "mw"},
    {vm::mayexec, "me"},    {vm::mayshare, "ms"},    {vm::growsdown, "gd"},
    {vm::pfnmap, "pf"},     {vm::locked, "lo"},      {vm::io, "io"},
    {vm::seq_read, "sr"},   {vm::rand_read, "rr"},   {vm::dontcopy, "dc"},
    {vm::dontexpand, "de"}, {vm::lockonfault, "lf"}, {vm::account, "ac"},
    {vm::noreserve, "nr"},  {vm::hugetlb, "ht"},     {vm::sync, "sf"},
    {vm::arch_1, "ar"},     {vm::wipeonfork, "wf"},  {vm::dontdump, "dd"},
    {vm::softdirty, "sd"},  {vm::mixedmap, "mm"},    {vm::hugepage, "hg"},
    {vm::nohugepage, "nh"}, {vm::mergeable, "mg"},   {vm::uffd_missing, "um"},
    {vm::uffd_wp, "uw"},    {vm::uffd_minor, "ui"},  {vm::sealed, "sl"},
    {vm::droppable, "dp"},  {vm::maybe_guard, "gu"},
};
}  // namespace

std::string render_vm_flags(uint64_t flags) {
  // Linux prints them by bit number, each followed by a space.
  std::string out;
  for (int bit = 0; bit < 64; bit++) {
    const uint64_t f = 1ull << bit;
    if (!(flags & f)) continue;
    for (const Mnemonic &m : kMnemonics)
      if (m.flag == f) {
        out += m.code;
        out += ' ';
      }
  }
  return out;
}

uint64_t vm_flag_from_mnemonic(std::string_view code) {
  for (const Mnemonic &m : kMnemonics)
    if (code == m.code) return m.flag;
  return 0;
}

}  // namespace vmspace
