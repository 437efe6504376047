// Importing an address space from /proc/PID/maps or smaps text (item 6 of the foundation).
//
// Each maps line becomes a VMA. Without smaps, the VMA flags that maps does not show are
// inferred the way a fresh exec leaves them: private mappings may become writable, private
// writable ones are accounted and have anonymous memory, a read-only private file mapping just
// below a writable one of the same file is a RELRO region (written once, so accounted too).
// With smaps, VmFlags and the Anonymous counter make the flags and anon_vma state exact.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "mm/mm_context.hpp"
#include "proc/layout_import.hpp"
#include "proc/maps.hpp"
#include "vmspace/abi.hpp"

namespace vmspace {

namespace {

struct Line {
  int lineno = 0;
  uint64_t start = 0, end = 0, offset = 0, ino = 0;
  uint32_t maj = 0, min = 0;
  bool r = false, w = false, x = false, s = false;
  std::string name;
  bool has_vmflags = false;
  uint64_t vmflags = 0;
  bool has_anon_counter = false;
  uint64_t anon_kb = 0;
  bool has_rss = false;
  uint64_t rss_kb = 0;
};

bool parse_hex(const std::string &s, size_t &i, uint64_t *v) {
  size_t b = i;
  uint64_t r = 0;
  while (i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i]))) {
    char c = s[i++];
    r = r * 16 + static_cast<uint64_t>(std::isdigit(static_cast<unsigned char>(c))
                                           ? c - '0'
                                           : (std::tolower(c) - 'a' + 10));
  }
  *v = r;
  return i > b;
}

bool parse_dec(const std::string &s, size_t &i, uint64_t *v) {
  size_t b = i;
  uint64_t r = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    r = r * 10 + static_cast<uint64_t>(s[i++] - '0');
  *v = r;
  return i > b;
}

std::string unescape_path(const std::string &p) {
  std::string r;
  for (size_t i = 0; i < p.size(); i++) {
    if (p[i] == '\\' && i + 3 < p.size() + 0 && p.compare(i, 4, "\\012") == 0) {
      r += '\n';
      i += 3;
    } else {
      r += p[i];
    }
  }
  return r;
}

// Parses one maps header line. Returns an error message or "".
std::string parse_header(const std::string &s, Line *l, int *col) {
  size_t i = 0;
  auto err = [&](const char *m) {
    *col = static_cast<int>(i) + 1;
    return std::string(m);
  };
  if (!parse_hex(s, i, &l->start)) return err("expected the start address");
  if (i >= s.size() || s[i] != '-') return err("expected '-'");
  i++;
  if (!parse_hex(s, i, &l->end)) return err("expected the end address");
  if (i >= s.size() || s[i] != ' ') return err("expected a blank");
  i++;
  if (i + 4 > s.size()) return err("expected permissions");
  const char *p = s.c_str() + i;
  if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
      (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p'))
    return err("bad permissions");
  l->r = p[0] == 'r';
  l->w = p[1] == 'w';
  l->x = p[2] == 'x';
  l->s = p[3] == 's';
  i += 4;
  while (i < s.size() && s[i] == ' ') i++;
  if (!parse_hex(s, i, &l->offset)) return err("expected the offset");
  while (i < s.size() && s[i] == ' ') i++;
  uint64_t maj, min;
  if (!parse_hex(s, i, &maj)) return err("expected the device");
  if (i >= s.size() || s[i] != ':') return err("expected ':' in the device");
  i++;
  if (!parse_hex(s, i, &min)) return err("expected the device minor");
  l->maj = static_cast<uint32_t>(maj);
  l->min = static_cast<uint32_t>(min);
  while (i < s.size() && s[i] == ' ') i++;
  if (!parse_dec(s, i, &l->ino)) return err("expected the inode");
  while (i < s.size() && s[i] == ' ') i++;
  std::string name = s.substr(i);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
  l->name = unescape_path(name);
  return "";
}

bool is_header(const std::string &s) {
  size_t i = 0;
  uint64_t v;
  return parse_hex(s, i, &v) && i < s.size() && s[i] == '-';
}

}  // namespace

bool import_layout(AddressSpace &mm, std::string_view text_view, const FileOpener &open_file,
                   std::string *error) {
  std::string text(text_view);
  std::vector<Line> lines;
  bool vsyscall = false;
  bool skip_details = false;
  bool brk_line = false;
  uint64_t brk_start = 0, brk_cur = 0;
  std::vector<std::pair<std::string, uint64_t>> mm_fields;
  int lineno = 0;
  size_t b = 0;
  while (b < text.size()) {
    size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    std::string s = text.substr(b, e - b);
    b = e + 1;
    lineno++;
    if (!s.empty() && s.back() == '\r') s.pop_back();
    size_t lead = s.find_first_not_of(" \t");
    if (lead == std::string::npos || s[lead] == '#') continue;
    s = s.substr(lead);
    if (is_header(s)) {
      Line l;
      l.lineno = lineno;
      int col = 1;
      std::string m = parse_header(s, &l, &col);
      if (!m.empty()) {
        *error =
            std::to_string(lineno) + ":" + std::to_string(col + static_cast<int>(lead)) + ": " + m;
        return false;
      }
      skip_details = l.name == "[vsyscall]";  // the gate area is not a VMA
      if (skip_details) {
        vsyscall = true;
        continue;
      }
      lines.push_back(l);
      continue;
    }
    if (s.compare(0, 3, "mm ") == 0) {
      // "mm FIELD VALUE": mm_struct fields maps does not show (start_code,
      // end_code, start_data, end_data, start_brk, brk, start_stack, hiwater_vm
      // in pages).
      char field[32];
      unsigned long long val = 0;
      if (std::sscanf(s.c_str() + 3, "%31s %lli", field, &val) != 2) {
        *error = std::to_string(lineno) + ":4: expected mm FIELD VALUE";
        return false;
      }
      std::string f = field;
      if (f == "start_code" || f == "end_code" || f == "start_data" || f == "end_data" ||
          f == "start_brk" || f == "brk" || f == "start_stack" || f == "hiwater_vm" ||
          f == "hiwater_rss") {
        mm_fields.push_back({f, val});
      } else {
        *error = std::to_string(lineno) + ":4: unknown mm field '" + f + "'";
        return false;
      }
      continue;
    }
    if (s.compare(0, 4, "brk ") == 0) {
      // "brk START_BRK [BRK]": where the heap starts and ends (not visible in maps).
      unsigned long long a = 0, b = 0;
      int n = std::sscanf(s.c_str() + 4, "%lli %lli", &a, &b);
      if (n < 1) {
        *error = std::to_string(lineno) + ":5: expected brk START_BRK [BRK]";
        return false;
      }
      brk_line = true;
      brk_start = a;
      brk_cur = n > 1 ? b : a;
      continue;
    }
    if (skip_details) continue;
    // smaps detail lines
    if (lines.empty()) {
      *error = std::to_string(lineno) + ":1: expected a maps line";
      return false;
    }
    Line &cur = lines.back();
    if (s.compare(0, 8, "VmFlags:") == 0) {
      cur.has_vmflags = true;
      size_t i = 8;
      while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') i++;
        size_t j = i;
        while (j < s.size() && s[j] != ' ') j++;
        std::string code = s.substr(i, j - i);
        if (!code.empty()) {
          uint64_t bit = vm_flag_from_mnemonic(code);
          cur.vmflags |= bit;
          if (!bit) {
            *error = std::to_string(lineno) + ":" + std::to_string(i + 1) +
                     ": unknown VmFlags code '" + code + "'";
            return false;
          }
        }
        i = j;
      }
    } else if (s.compare(0, 10, "Anonymous:") == 0) {
      size_t i = 10;
      while (i < s.size() && s[i] == ' ') i++;
      cur.has_anon_counter = parse_dec(s, i, &cur.anon_kb);
    } else if (s.compare(0, 4, "Rss:") == 0) {
      size_t i = 4;
      while (i < s.size() && s[i] == ' ') i++;
      cur.has_rss = parse_dec(s, i, &cur.rss_kb);
    }
    // Other smaps fields (Size, Pss, ...) follow from the pages.
  }

  const uint64_t P = mm.page_size;
  for (size_t k = 0; k < lines.size(); k++) {
    const Line &l = lines[k];
    std::string where = std::to_string(l.lineno) + ":1: ";
    if ((l.start & (P - 1)) || (l.end & (P - 1)) || l.start >= l.end || l.end > mm.task_size) {
      *error = where + "range is not page aligned or not in user space";
      return false;
    }
    if (k > 0 && lines[k - 1].end > l.start) {
      *error = where + "ranges overlap or are out of order";
      return false;
    }
    if (l.offset & (P - 1)) {
      *error = where + "offset is not page aligned";
      return false;
    }
  }

  MmWriteLock lock(mm);
  MmContext &sys = mm.ctx;
  mm.clear();
  mm.has_vsyscall = vsyscall;
  mm.start_brk = mm.brk = 0;
  mm.start_stack = 0;
  std::map<std::pair<uint64_t, uint64_t>, Ref<OpenFile>> files;  // one struct file per inode
  Vma *prev = nullptr;
  const Line *prev_line = nullptr;
  for (size_t k = 0; k < lines.size(); k++) {
    const Line &l = lines[k];
    Vma v;
    v.start = l.start;
    v.end = l.end;
    uint64_t f = (l.r ? vm::read : 0) | (l.w ? vm::write : 0) | (l.x ? vm::exec : 0) | vm::mayread |
                 vm::mayexec;
    bool anon_guess = false;
    const std::string &n = l.name;
    bool dev_shmem = l.maj == 0 && l.min == 1;
    if (n == "[vvar]" || n == "[vvar_vclock]") {
      v.special = n == "[vvar]" ? Special::vvar : Special::vvar_vclock;
      v.vm_ops = true;
      f = (f & vm::access_flags) | vm::mayread | vm::pfnmap | vm::io | vm::dontexpand |
          vm::dontdump;
    } else if (n == "[vdso]") {
      v.special = Special::vdso;
      v.vm_ops = true;
      f |= vm::maywrite | vm::dontexpand;
    } else if (!n.empty() && n[0] == '/') {
      // A file (or a shmem / hugetlb object shown with a path).
      bool hugetlb =
          n == "/anon_hugepage (deleted)" || (l.maj == 0 && (l.min == 0x11 || l.min == 0x12));
      auto key = std::make_pair((static_cast<uint64_t>(l.maj) << 32) | l.min, l.ino);
      Ref<OpenFile> &file = files[key];
      if (!file) {
        Ref<Inode> in;
        if (hugetlb) {
          in = sys.inodes.hugetlb(n, 0, l.min == 0x12 ? (1ull << 30) : (2ull << 20));
        } else if (dev_shmem) {
          in = sys.inodes.standin(0, 1, l.ino, InodeKind::shmem, n, -1);
        } else {
          std::string path = n;
          const std::string deleted = " (deleted)";
          if (path.size() > deleted.size() &&
              path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
            path.clear();
          Result<Ref<OpenFile>> host =
              path.empty() ? Result<Ref<OpenFile>>(fail(Errno::noent)) : open_file(path);
          int host_fd = -1;
          if (host && (*host)->host_fd() >= 0)
            host_fd = ::fcntl((*host)->host_fd(), F_DUPFD_CLOEXEC, 3);
          in = sys.inodes.standin(l.maj, l.min, l.ino, InodeKind::regular, n, host_fd);
        }
        file = make_ref<OpenFile>(
            std::move(in), (l.s && l.w) || dev_shmem || hugetlb ? lx::o_rdwr : lx::o_rdonly, -1);
      }
      v.file = file;
      v.vm_ops = true;
      v.pgoff = l.offset / P;
      if (hugetlb) f |= vm::hugetlb | vm::dontexpand;
      if (l.s) {
        f |= vm::mayshare;
        if (file->writable()) f |= vm::shared | vm::maywrite;
      } else {
        f |= vm::maywrite;
        if (l.w && !hugetlb) {
          f |= vm::account;
          anon_guess = true;
        }
        // RELRO: read-only, just below a writable private mapping of the same file.
        if (!l.w && k + 1 < lines.size()) {
          const Line &nx = lines[k + 1];
          if (nx.start == l.end && nx.w && !nx.s && nx.maj == l.maj && nx.min == l.min &&
              nx.ino == l.ino) {
            f |= vm::account;
            anon_guess = true;
          }
        }
      }
    } else {
      // Anonymous memory: plain, [heap], [stack], [anon:NAME].
      v.pgoff = l.start >> mm.page_shift;
      if (l.s) {
        Ref<Inode> in = sys.inodes.shmem("/dev/zero (deleted)", l.end - l.start);
        v.file = make_ref<OpenFile>(std::move(in), lx::o_rdwr, -1);
        v.vm_ops = true;
        v.pgoff = 0;
        f |= vm::shared | vm::mayshare | vm::maywrite;
      } else {
        f |= vm::maywrite;
        if (l.w) {
          f |= vm::account;
          anon_guess = true;
        }
      }
      if (n == "[heap]") {
        if (!mm.start_brk) mm.start_brk = l.start;
        mm.brk = l.end;
      } else if (n == "[stack]") {
        f |= vm::growsdown;
        mm.start_stack = l.end - P;
        anon_guess = true;
      } else if (n.compare(0, 6, "[anon:") == 0 && n.back() == ']') {
        v.anon_name = make_ref<AnonName>(n.substr(6, n.size() - 7));
      } else if (!n.empty()) {
        *error = std::to_string(l.lineno) + ":1: unknown mapping name '" + n + "'";
        mm.clear();
        return false;
      }
    }
    if (l.has_vmflags) f = l.vmflags;
    bool has_anon = l.has_anon_counter ? l.anon_kb > 0 : anon_guess;
    if (l.has_anon_counter && !has_anon && (f & vm::growsdown)) has_anon = true;
    v.flags = f;
    if (has_anon && !(f & vm::shared)) {
      // Neighbouring parts of one original VMA share its anon_vma.
      if (prev && prev_line && prev->anon && prev->end == v.start && prev->file == v.file &&
          (!v.file || prev->pgoff + ((prev->end - prev->start) / P) == v.pgoff))
        v.anon = prev->anon;
      else
        v.anon = make_ref<AnonVma>(mm.next_anon_id());
    }
    prev = mm.insert_vma(v);
    prev_line = &l;
  }
  bool has_brk = false;
  uint64_t hiwater_rss = 0;
  mm.start_code = mm.end_code = mm.start_data = mm.end_data = 0;
  for (auto &[f, val] : mm_fields) {
    if (f == "start_code") mm.start_code = val;
    if (f == "end_code") mm.end_code = val;
    if (f == "start_data") mm.start_data = val;
    if (f == "end_data") mm.end_data = val;
    if (f == "start_brk") mm.start_brk = val, has_brk = true;
    if (f == "brk") mm.brk = val, has_brk = true;
    if (f == "start_stack") mm.start_stack = val;
    if (f == "hiwater_vm") mm.hiwater_vm = val;
    if (f == "hiwater_rss") hiwater_rss = val;
  }
  if (has_brk) {
    // set above
  } else if (brk_line) {
    mm.start_brk = brk_start;
    mm.brk = brk_cur;
  } else if (!mm.start_brk) {
    // No [heap]: the program never grew its heap, which starts right after the executable's
    // data and bss (the file of the lowest mapping; ASLR off, so no gap).
    const Line *exe = nullptr;
    for (const Line &l : lines)
      if (!l.name.empty() && l.name[0] == '/') {
        exe = &l;
        break;
      }
    if (exe) {
      uint64_t end = 0;
      size_t k = 0;
      for (size_t i = 0; i < lines.size(); i++)
        if (lines[i].maj == exe->maj && lines[i].min == exe->min && lines[i].ino == exe->ino &&
            lines[i].name == exe->name) {
          end = lines[i].end;
          k = i;
        }
      if (k + 1 < lines.size() && lines[k + 1].start == end && lines[k + 1].name.empty() &&
          lines[k + 1].w && !lines[k + 1].s)
        end = lines[k + 1].end;  // the bss
      mm.start_brk = mm.brk = end;
    }
  }
  // Rss and Anonymous say how many pages were present: they become present here (which
  // ones smaps does not say: a stack's top pages, else the first ones; anonymous pages first),
  // so that RSS, smaps and fork's copies start where the kernel's did.
  mm.no_fault_around = true;
  for (const Line &l : lines) {
    if (!l.has_rss || !l.rss_kb) continue;
    Vma *v = mm.vmas.tree.find(l.start);
    if (!v || v->start != l.start || (v->flags & vm::hugetlb) || v->special != Special::none)
      continue;
    const uint64_t n = std::min((l.rss_kb << 10) / P, (v->end - v->start) / P);
    const uint64_t anon = v->is_anonymous() ? n : std::min(n, (l.anon_kb << 10) / P);
    const bool down = v->flags & vm::growsdown;
    for (uint64_t i = 0; i < n; i++) {
      const uint64_t a = down ? v->end - (i + 1) * P : v->start + i * P;
      if (!mm.page_for(v, a, i < anon)) break;  // guest memory exhausted: fewer pages
    }
  }
  mm.no_fault_around = false;
  mm.hiwater_rss = std::max(mm.hiwater_rss, hiwater_rss);
  mm.notify_replaced();
  return true;
}

}  // namespace vmspace
