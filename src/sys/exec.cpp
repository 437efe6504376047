// execve(2) of an ELF file: a fresh address space laid out as Linux's ELF loader lays it out
// with ASLR off (Linux: fs/exec.c do_execveat_common, bprm_stack_limits, copy_strings,
// setup_arg_pages; fs/binfmt_elf.c load_elf_binary, elf_load, load_elf_interp).
//
// Order of events, as in Linux:
//   1. open the file (EACCES unless a regular file with execute permission), read its ELF
//      headers (ENOEXEC) and its interpreter's (the interpreter's open errors as they are,
//      ELIBBAD for a bad interpreter);
//   2. size the argument strings against the stack limit (E2BIG) - nothing has changed yet;
//   3. point of no return: a new mm with mmap_base from RLIMIT_STACK, the [stack] covering
//      the strings plus 128 KiB, the PT_LOAD segments and their bss, the interpreter below
//      mmap_base, then [vvar], [vvar_vclock] and [vdso] below that; close-on-exec
//      descriptors are closed.
// A failure after the point of no return kills the process (Linux: SIGSEGV), as it does on
// Linux.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "file/elf.hpp"
#include "file/fd_table.hpp"
#include "file/inode.hpp"
#include "mm/address_space.hpp"
#include "sys/kernel.hpp"
#include "sys/task.hpp"
#include "vmspace/abi.hpp"
#include "vmspace/system.hpp"

namespace vmspace {

namespace {

constexpr uint64_t kStackLim = 8ull << 20;       // _STK_LIM
constexpr uint64_t kArgMax = 32 * 4096;          // ARG_MAX: 32 pages
constexpr uint64_t kMaxArgStrlen = 32 * 4096;    // MAX_ARG_STRLEN
constexpr uint64_t kStackExpand = 128ull << 10;  // setup_arg_pages: stack_expand

struct Loaded {
  Ref<OpenFile> file;
  ElfImage elf;
};

// Linux: do_open_execat + may_open(MAY_EXEC): a regular file, on an exec mount, with an
// execute bit for the caller (root needs any execute bit).
Result<Loaded> check_exec(Ref<OpenFile> f, bool privileged);

Result<Loaded> open_exec(SystemState &s, std::string_view path, bool privileged, int base = -1,
                         uint64_t extra_flags = 0) {
  const uint64_t flags = lx::o_rdonly | extra_flags;
  Result<OpenedFile> o = s.fs->open(base, path, flags, 0, privileged);
  if (!o) return fail(o.error());
  Result<Ref<OpenFile>> f = make_open_file(s, std::move(*o), flags);
  if (!f) return fail(f.error());
  return check_exec(*f, privileged);
}

Result<Loaded> check_exec(Ref<OpenFile> f, bool privileged) {
  const Inode &in = *f->inode();
  if (in.kind() == InodeKind::directory) return fail(Errno::acces);
  if (in.kind() != InodeKind::regular || f->host_fd() < 0) return fail(Errno::acces);
  struct stat st;
  if (::fstat(f->host_fd(), &st) != 0) return fail(Errno::io);
  const mode_t x = privileged ? (S_IXUSR | S_IXGRP | S_IXOTH) : S_IXOTH;
  if (!(st.st_mode & x)) return fail(Errno::acces);
  if (in.noexec_mount()) return fail(Errno::acces);
  Loaded l;
  l.file = std::move(f);
  return l;
}

uint64_t page_start(uint64_t v, uint64_t P) { return v & ~(P - 1); }
uint64_t page_offset(uint64_t v, uint64_t P) { return v & (P - 1); }
uint64_t page_align_up(uint64_t v, uint64_t P) { return (v + P - 1) & ~(P - 1); }

uint64_t elf_prot(uint32_t pflags) {
  return ((pflags & elf::pf_r) ? lx::prot_read : 0) | ((pflags & elf::pf_w) ? lx::prot_write : 0) |
         ((pflags & elf::pf_x) ? lx::prot_exec : 0);
}

// Linux: total_mapping_size.
uint64_t total_mapping_size(const ElfImage &e, uint64_t P) {
  uint64_t lo = ~0ull, hi = 0;
  bool any = false;
  for (const ElfSegment &s : e.phdrs) {
    if (s.type != elf::pt_load) continue;
    lo = std::min(lo, page_start(s.vaddr, P));
    hi = std::max(hi, s.vaddr + s.memsz);
    any = true;
  }
  return any ? hi - lo : 0;
}

// Linux: maximum_alignment (power-of-two p_align only, at least a page).
uint64_t maximum_alignment(const ElfImage &e, uint64_t P) {
  uint64_t a = 0;
  for (const ElfSegment &s : e.phdrs) {
    if (s.type != elf::pt_load) continue;
    if (s.align == 0 || (s.align & (s.align - 1))) continue;
    a = std::max(a, s.align);
  }
  return page_align_up(a, P);
}

bool bad_addr(const Result<uint64_t> &r, const AddressSpace &mm) {
  return !r || *r >= mm.task_size;
}

// Linux: elf_map. Maps the file part of a segment at addr; with total_size, reserves the
// whole image first and unmaps what lies beyond this segment.
Result<uint64_t> elf_map(AddressSpace &mm, const TaskLimits &lim, const Ref<OpenFile> &file,
                         uint64_t addr, const ElfSegment &s, uint64_t prot, uint64_t type,
                         uint64_t total_size) {
  const uint64_t P = mm.page_size;
  uint64_t size = page_align_up(s.filesz + page_offset(s.vaddr, P), P);
  const uint64_t off = s.offset - page_offset(s.vaddr, P);
  addr = page_start(addr, P);
  if (!size) return addr;
  MmapRequest req;
  req.addr = addr;
  req.len = size;
  req.prot = prot;
  req.flags = type;
  req.pgoff = off >> mm.page_shift;
  req.file = file;
  if (total_size) {
    req.len = page_align_up(total_size, P);
    Result<uint64_t> at = mm.do_mmap(req, lim);
    if (!bad_addr(at, mm) && req.len > size) (void)mm.munmap(*at + size, req.len - size);
    return at;
  }
  return mm.do_mmap(req, lim);
}

// Linux: elf_load. The file part, the zeroed tail of its last page (padzero), and the bss as
// anonymous memory (vm_brk_flags).
Result<uint64_t> elf_load(AddressSpace &mm, const TaskLimits &lim, const Ref<OpenFile> &file,
                          uint64_t addr, const ElfSegment &s, uint64_t prot, uint64_t type,
                          uint64_t total_size) {
  const uint64_t P = mm.page_size;
  uint64_t map_addr, zero_start = 0, zero_end = 0;
  if (s.filesz) {
    Result<uint64_t> m = elf_map(mm, lim, file, addr, s, prot, type, total_size);
    if (bad_addr(m, mm)) return m;
    map_addr = *m;
    if (s.memsz > s.filesz) {
      zero_start = map_addr + page_offset(s.vaddr, P) + s.filesz;
      zero_end = map_addr + page_offset(s.vaddr, P) + s.memsz;
      // padzero: clearing the rest of the last file page writes to it, which gives a
      // writable private mapping its anonymous memory (a copy of the page).
      if (page_offset(zero_start, P)) {
        Vma *v = mm.vmas.tree.find(zero_start);
        const bool ok = v && v->start <= zero_start && (v->flags & vm::write);
        if (ok) {
          const std::vector<uint8_t> zeros(P - page_offset(zero_start, P), 0);
          if (mm.write_mem(zero_start, zeros.data(), zeros.size(), lim)) return fail(Errno::fault);
        }
        if (!ok && (prot & lx::prot_write)) return fail(Errno::fault);
      }
    }
  } else {
    map_addr = zero_start = page_start(addr, P);
    zero_end = zero_start + page_offset(s.vaddr, P) + s.memsz;
  }
  if (s.memsz > s.filesz) {
    zero_start = page_align_up(zero_start, P);
    zero_end = page_align_up(zero_end, P);
    VMS_TRY(mm.vm_brk_flags(zero_start, zero_end - zero_start,
                            (prot & lx::prot_exec) ? vm::exec : 0, lim));
  }
  return map_addr;
}

// Linux: load_elf_interp. The interpreter goes where mmap puts a mapping of its whole size
// (below mmap_base), its later segments at their offsets from the first.
Result<uint64_t> load_interp(AddressSpace &mm, const TaskLimits &lim, const Loaded &in) {
  const uint64_t P = mm.page_size;
  uint64_t total_size = total_mapping_size(in.elf, P);
  if (!total_size) return fail(Errno::inval);
  uint64_t load_addr = 0;
  bool load_addr_set = false;
  for (const ElfSegment &s : in.elf.phdrs) {
    if (s.type != elf::pt_load) continue;
    uint64_t type = lx::map_private;
    if (in.elf.type == elf::et_exec || load_addr_set) type |= lx::map_fixed;
    Result<uint64_t> m =
        elf_load(mm, lim, in.file, load_addr + s.vaddr, s, elf_prot(s.flags), type, total_size);
    total_size = 0;
    if (bad_addr(m, mm)) return fail(m ? Errno::inval : m.error());
    if (!load_addr_set && in.elf.type == elf::et_dyn) {
      load_addr = *m - page_start(s.vaddr, P);
      load_addr_set = true;
    }
  }
  return load_addr;
}

// The "#!" line of a script (Linux: binfmt_script load_script, over the first 256 bytes).
struct ScriptLine {
  bool is_script = false;
  std::string name, arg;
  bool has_arg = false;
};

Result<void> read_script_line(int fd, ScriptLine *out) {
  char buf[256] = {};  // BINPRM_BUF_SIZE; a short file leaves zeros
  if (::pread(fd, buf, sizeof buf, 0) < 0) return fail(Errno::io);
  if (buf[0] != '#' || buf[1] != '!') return {};
  out->is_script = true;
  auto spacetab = [](char c) { return c == ' ' || c == '\t'; };
  const char *buf_end = buf + sizeof buf - 1;
  const char *i_end = static_cast<const char *>(std::memchr(buf, '\n', sizeof buf));
  if (!i_end) {
    // No newline in the buffer: the interpreter path must end within it.
    const char *q = buf + 2;
    while (q < buf_end && spacetab(*q)) q++;
    if (q >= buf_end) return fail(Errno::noexec);
    const char *t = q;
    while (t < buf_end && !spacetab(*t) && *t) t++;
    if (t >= buf_end) return fail(Errno::noexec);
    i_end = buf_end;
  }
  while (i_end > buf + 2 && spacetab(i_end[-1])) i_end--;
  const char *i_name = buf + 2;
  while (i_name < i_end && spacetab(*i_name)) i_name++;
  if (i_name >= i_end) return fail(Errno::noexec);
  const char *i_sep = i_name;
  while (i_sep < i_end && !spacetab(*i_sep) && *i_sep) i_sep++;
  out->name.assign(i_name, i_sep);
  if (i_sep < i_end && *i_sep != '\0') {
    const char *i_arg = i_sep;
    while (i_arg < i_end && spacetab(*i_arg)) i_arg++;
    if (i_arg < i_end) {
      out->has_arg = true;
      out->arg.assign(i_arg, i_end);
      out->arg.resize(std::strlen(out->arg.c_str()));
    }
  }
  out->name.resize(std::strlen(out->name.c_str()));
  return {};
}

// Linux: create_elf_tables. The stack pointer the program starts with (mm->start_stack): below
// the strings, 16-byte aligned, the platform string "x86_64", 16 random bytes, the auxiliary
// vector (22 entries and AT_NULL on x86-64 6.18 with a vDSO), and argc, argv, envp.
constexpr uint64_t kAuxvWords = 2 * 23;

uint64_t initial_sp(uint64_t p, uint64_t argc, uint64_t envc) {
  p &= ~0xfull;  // arch_align_stack without randomisation
  p -= sizeof("x86_64");
  p -= 16;  // AT_RANDOM bytes
  const uint64_t sp = p - kAuxvWords * 8;
  const uint64_t items = (argc + 1) + (envc + 1) + 1;
  return (sp - items * 8) & ~0xfull;
}

// What the auxiliary vector tells about the loaded images.
struct AuxInfo {
  uint64_t phdr = 0, phnum = 0, entry = 0, base = 0;
  uint64_t ip = 0;  // the first instruction: the interpreter's entry, else the program's
};

// Linux: load_elf_binary from begin_new_exec on, into the fresh mm.
Result<void> load_binary(AddressSpace &mm, const TaskLimits &lim, const Loaded &exe,
                         const Loaded *interp, uint64_t p, uint64_t rlimit_stack, uint64_t argc,
                         uint64_t envc, AuxInfo *aux) {
  const uint64_t P = mm.page_size;
  // setup_arg_pages: the stack holds the strings down to p; it is made 128 KiB larger, or as
  // large as RLIMIT_STACK allows when that is less.
  {
    const uint64_t top = mm.task_size;
    const uint64_t start = page_start(p, P);
    const uint64_t size = top - start;
    const uint64_t rlim = rlimit_stack & ~(P - 1);
    uint64_t base = start - kStackExpand;
    if (size + kStackExpand > rlim) base = top - rlim;
    mm.install_stack(std::min(start, base), exe.elf.exec_stack ? vm::exec : 0);
  }

  uint64_t load_bias = 0, total_size = 0;
  bool first = true;
  uint64_t start_code = ~0ull, end_code = 0, start_data = 0, end_data = 0, elf_brk = 0;
  for (const ElfSegment &s : exe.elf.phdrs) {
    if (s.type != elf::pt_load) continue;
    const uint64_t prot = elf_prot(s.flags);
    uint64_t flags = lx::map_private;
    const uint64_t vaddr = s.vaddr;
    if (!first) {
      flags |= lx::map_fixed;
    } else if (exe.elf.type == elf::et_exec) {
      flags |= lx::map_fixed_noreplace;
    } else {
      total_size = total_mapping_size(exe.elf, P);
      if (!total_size) return fail(Errno::inval);
      const uint64_t alignment = maximum_alignment(exe.elf, P);
      if (interp) {
        // A program: at ELF_ET_DYN_BASE (two thirds of the address space), aligned.
        load_bias = (mm.task_size / 3) * 2;
        if (alignment) load_bias &= ~(alignment - 1);
        flags |= lx::map_fixed_noreplace;
      } else if (alignment > P) {
        // A loader with a large alignment: find where mmap would put it, then align.
        Result<uint64_t> probe = elf_load(mm, lim, exe.file, 0, s, prot, flags, total_size);
        if (bad_addr(probe, mm)) return fail(probe ? Errno::inval : probe.error());
        (void)mm.munmap(*probe, total_size);
        load_bias = *probe & ~(alignment - 1);
        flags |= lx::map_fixed_noreplace;
      } else {
        load_bias = 0;  // a loader: wherever mmap puts it
      }
      load_bias = page_start(load_bias - vaddr, P);
    }
    Result<uint64_t> m = elf_load(mm, lim, exe.file, load_bias + vaddr, s, prot, flags, total_size);
    if (bad_addr(m, mm)) return fail(m ? Errno::inval : m.error());
    total_size = 0;  // only the first mapping reserves the whole image
    if (first) {
      first = false;
      if (exe.elf.type == elf::et_dyn) load_bias += *m - page_start(load_bias + vaddr, P);
    }
    // The segment whose file bytes hold the program headers gives AT_PHDR.
    if (s.offset <= exe.elf.phoff && exe.elf.phoff < s.offset + s.filesz)
      aux->phdr = exe.elf.phoff - s.offset + s.vaddr;
    uint64_t k = s.vaddr;
    if ((s.flags & elf::pf_x) && k < start_code) start_code = k;
    if (start_data < k) start_data = k;
    k = s.vaddr + s.filesz;
    if ((s.flags & elf::pf_x) && end_code < k) end_code = k;
    if (end_data < k) end_data = k;
    k = s.vaddr + s.memsz;
    if (k > elf_brk) elf_brk = k;
  }
  elf_brk += load_bias;
  aux->phdr += load_bias;
  aux->phnum = exe.elf.phnum;
  aux->entry = aux->ip = exe.elf.entry + load_bias;
  mm.start_code = start_code + load_bias;
  mm.end_code = end_code + load_bias;
  mm.start_data = start_data + load_bias;
  mm.end_data = end_data + load_bias;
  // A loader run directly (ET_DYN without PT_INTERP) gets its heap at ELF_ET_DYN_BASE, away
  // from the mmap area it was loaded into (Linux 6.10+, also without ASLR).
  if (exe.elf.type == elf::et_dyn && !interp) elf_brk = (mm.task_size / 3) * 2;
  mm.start_brk = mm.brk = page_align_up(elf_brk, P);

  if (interp) {
    Result<uint64_t> base = load_interp(mm, lim, *interp);
    if (!base) return fail(base.error());
    aux->base = *base;
    aux->ip = interp->elf.entry + *base;  // where the loader starts
  }
  mm.install_vdso();
  mm.start_stack = initial_sp(p, argc, envc);
  return {};
}

// The CPU's part of the auxiliary vector and what else create_elf_tables takes from outside.
struct StackInputs {
  uint64_t hwcap = 0, hwcap2 = 0, minsigstksz = 0;
  uint64_t uid = 0, gid = 0;
  uint8_t random[16] = {};
};

// Linux: copy_strings (the argument and environment strings and the file name below the top
// of the stack, argv[0] lowest) and create_elf_tables (the platform string, AT_RANDOM's bytes,
// then argc, argv, envp and the auxiliary vector from mm->start_stack up). Written as the
// kernel writes them, so the same stack pages become present.
Result<void> write_initial_stack(AddressSpace &mm, const TaskLimits &lim, uint64_t p,
                                 const std::vector<std::string> &args,
                                 const std::vector<std::string> &envp, const std::string &filename,
                                 const AuxInfo &aux, const StackInputs &in) {
  auto put = [&](uint64_t at, const void *bytes, uint64_t n) {
    return !mm.write_mem(at, static_cast<const uint8_t *>(bytes), n, lim);
  };
  std::vector<uint64_t> words;
  words.push_back(args.size());
  uint64_t at = p;
  for (const std::string &a : args) {
    if (!put(at, a.c_str(), a.size() + 1)) return fail(Errno::fault);
    words.push_back(at);
    at += a.size() + 1;
  }
  words.push_back(0);
  for (const std::string &e : envp) {
    if (!put(at, e.c_str(), e.size() + 1)) return fail(Errno::fault);
    words.push_back(at);
    at += e.size() + 1;
  }
  words.push_back(0);
  const uint64_t execfn = at;
  if (!put(at, filename.c_str(), filename.size() + 1)) return fail(Errno::fault);

  uint64_t q = p & ~0xfull;  // arch_align_stack without randomisation
  static constexpr char kPlatform[] = "x86_64";
  q -= sizeof kPlatform;
  const uint64_t platform = q;
  if (!put(q, kPlatform, sizeof kPlatform)) return fail(Errno::fault);
  q -= sizeof in.random;
  const uint64_t random = q;
  if (!put(q, in.random, sizeof in.random)) return fail(Errno::fault);

  uint64_t vdso = 0;
  for (const Vma *v = mm.vmas.tree.first(); v; v = VmaTree::next(v))
    if (v->special == Special::vdso) vdso = v->start;
  const std::pair<uint64_t, uint64_t> auxv[] = {
      {lx::at_sysinfo_ehdr, vdso},
      {lx::at_minsigstksz, in.minsigstksz},
      {lx::at_hwcap, in.hwcap},
      {lx::at_pagesz, mm.page_size},
      {lx::at_clktck, 100},
      {lx::at_phdr, aux.phdr},
      {lx::at_phent, 56},
      {lx::at_phnum, aux.phnum},
      {lx::at_base, aux.base},
      {lx::at_flags, 0},
      {lx::at_entry, aux.entry},
      {lx::at_uid, in.uid},
      {lx::at_euid, in.uid},
      {lx::at_gid, in.gid},
      {lx::at_egid, in.gid},
      {lx::at_secure, 0},
      {lx::at_random, random},
      {lx::at_hwcap2, in.hwcap2},
      {lx::at_execfn, execfn},
      {lx::at_platform, platform},
      {lx::at_rseq_feature_size, 28},
      {lx::at_rseq_align, 32},
      {lx::at_null, 0},
  };
  static_assert(sizeof auxv / sizeof auxv[0] * 2 == kAuxvWords, "initial_sp's count");
  for (const auto &[key, value] : auxv) {
    words.push_back(key);
    words.push_back(value);
  }
  const uint64_t sp = initial_sp(p, args.size(), envp.size());
  if (!put(sp, words.data(), words.size() * 8)) return fail(Errno::fault);
  return {};
}

// A value of the host kernel's auxiliary vector for this process, read from /proc/self/auxv
// once (glibc's getauxval(AT_HWCAP) answers its own idea of the CPU on x86-64, not the
// kernel's word); 0 when unknown.
uint64_t host_auxv(uint64_t key) {
  static const std::vector<uint64_t> words = [] {
    std::vector<uint64_t> w(256, 0);
    const int fd = ::open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      const ssize_t n = ::read(fd, w.data(), w.size() * 8);
      w.resize(n > 0 ? static_cast<size_t>(n) / 8 : 0);
      ::close(fd);
    } else {
      w.clear();
    }
    return w;
  }();
  for (size_t i = 0; i + 1 < words.size() && words[i]; i += 2)
    if (words[i] == key) return words[i + 1];
  return 0;
}

// AT_RANDOM's bytes: splitmix64 over the System's seed and how many execs came before.
void random_bytes(uint64_t seed, uint64_t n, uint8_t out[16]) {
  uint64_t x = seed ^ (n * 0x9e3779b97f4a7c15ull);
  for (int i = 0; i < 2; i++) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(out + 8 * i, &z, 8);
  }
}

}  // namespace

Result<void> Task::execve(std::string_view path, const std::vector<std::string> &argv,
                          const std::vector<std::string> &envp) {
  return execveat(static_cast<uint64_t>(lx::at_fdcwd), path, argv, envp, 0);
}

// Linux: do_execveat_common and alloc_bprm: the file named relative to dirfd, or dirfd's own
// file with AT_EMPTY_PATH; the name the new program gets (bprm->filename) is the path, or
// "/dev/fd/N[/PATH]" for a descriptor.
Result<void> Task::execveat(uint64_t dirfd, std::string_view path,
                            const std::vector<std::string> &argv,
                            const std::vector<std::string> &envp, uint64_t flags) {
  SystemState &s = state_;
  constexpr uint64_t kEmptyPath = lx::at_empty_path, kSymlinkNofollow = lx::at_symlink_nofollow;
  if (flags & ~(kEmptyPath | kSymlinkNofollow)) return fail(Errno::inval);
  VMS_TRY(memory_available(s, AddressSpace::kFixedBytes));
  const int dfd = static_cast<int>(static_cast<uint32_t>(dirfd));
  const bool by_fd = dfd != lx::at_fdcwd && (path.empty() || path[0] != '/');
  if (path.empty() && !(by_fd && (flags & kEmptyPath))) return fail(Errno::noent);
  const uint64_t nofollow = (flags & kSymlinkNofollow) ? lx::o_nofollow : 0;
  Result<Loaded> exe = fail(Errno::noent);
  std::string filename(path);
  if (by_fd) {
    Ref<OpenFile> d = files_->get(static_cast<uint32_t>(dirfd));
    if (!d) return fail(Errno::badf);
    filename = "/dev/fd/" + std::to_string(dfd) + (path.empty() ? "" : "/" + std::string(path));
    if (path.empty()) {
      exe = check_exec(d, privileged_);
    } else {
      if (d->host_fd() < 0 || d->inode()->kind() != InodeKind::directory)
        return fail(Errno::notdir);
      exe = open_exec(s, path, privileged_, d->host_fd(), nofollow);
    }
  } else {
    // A relative path starts from the working directory; the stack gets it as given.
    const std::string from_cwd =
        path[0] != '/' && !cwd_.empty() ? cwd_ + "/" + std::string(path) : std::string();
    exe = open_exec(s, from_cwd.empty() ? path : from_cwd, privileged_, -1, nofollow);
  }
  if (!exe) return fail(exe.error());
  path = filename;

  // bprm_stack_limits and copy_strings: the strings go below the top of the stack, last the
  // file name, then the environment, then the arguments (an empty one when there is none).
  const uint64_t rlimit_stack = rlimit_cur(lx::rlimit_stack);
  uint64_t limit = std::min<uint64_t>(kStackLim / 4 * 3, rlimit_stack / 4);
  limit = std::max(limit, kArgMax);
  const uint64_t ptrs = (std::max<uint64_t>(argv.size(), 1) + envp.size()) * 8;
  if (limit <= ptrs) return fail(Errno::toobig);
  limit -= ptrs;
  const uint64_t top = mm_->task_size;
  uint64_t p = top - 8;
  const uint64_t argmin = p - limit;
  auto push = [&](uint64_t len) {
    if (len > kMaxArgStrlen) return false;
    p -= len;
    return p >= argmin;
  };
  if (!push(path.size() + 1)) return fail(Errno::toobig);
  for (const std::string &e : envp)
    if (!push(e.size() + 1)) return fail(Errno::toobig);
  for (const std::string &a : argv)
    if (!push(a.size() + 1)) return fail(Errno::toobig);
  // The argument strings from the lowest address up: argv[0] first.
  std::vector<std::string> args(argv.begin(), argv.end());
  if (args.empty()) {
    if (!push(1)) return fail(Errno::toobig);
    args.push_back("");
  }

  // exec_binprm: "#!" scripts hand over to their interpreter, at most five levels deep.
  std::string interp_name(path);  // bprm->interp
  for (int depth = 0;; depth++) {
    if (depth > 5) return fail(Errno::loop);
    ScriptLine line;
    VMS_TRY(read_script_line(exe->file->host_fd(), &line));
    if (!line.is_script) break;
    // binfmt_script: argv[0] makes way for the interpreter, its argument and the script.
    p += args.front().size() + 1;
    args.erase(args.begin());
    std::vector<std::string> front = {line.name};
    if (line.has_arg) front.push_back(line.arg);
    front.push_back(interp_name);
    for (auto it = front.rbegin(); it != front.rend(); ++it)
      if (!push(it->size() + 1)) return fail(Errno::toobig);
    args.insert(args.begin(), front.begin(), front.end());
    interp_name = line.name;
    Result<Loaded> next = open_exec(s, line.name, privileged_);
    if (!next) return fail(next.error());
    exe = std::move(next);
  }
  Result<ElfImage> img = read_elf(exe->file->host_fd());
  if (!img) return fail(img.error());
  exe->elf = std::move(*img);

  // The interpreter is opened and checked before the old address space goes.
  std::optional<Loaded> interp;
  if (!exe->elf.interp.empty()) {
    Result<Loaded> in = open_exec(s, exe->elf.interp, privileged_);
    if (!in) return fail(in.error());
    Result<ElfImage> ii = read_elf(in->file->host_fd());
    if (!ii) return fail(Errno::libbad);
    in->elf = std::move(*ii);
    interp = std::move(*in);
  }

  // The point of no return.
  auto mm = std::make_shared<AddressSpace>(s, rlimit_stack);
  Result<void> r;
  {
    MmWriteLock lock(*mm);
    AuxInfo aux;
    const TaskLimits lim = task_limits(*this);
    r = load_binary(*mm, lim, *exe, interp ? &*interp : nullptr, p, rlimit_stack, args.size(),
                    envp.size(), &aux);
    if (r) {
      StackInputs in;
      in.hwcap = s.config.hwcap ? s.config.hwcap : host_auxv(lx::at_hwcap);
      in.hwcap2 = s.config.hwcap2 ? s.config.hwcap2 : host_auxv(lx::at_hwcap2);
      in.minsigstksz = s.config.minsigstksz ? s.config.minsigstksz : host_auxv(lx::at_minsigstksz);
      in.uid = in.gid = privileged_ ? 0 : 65534;
      random_bytes(s.config.at_random_seed, s.execs.fetch_add(1), in.random);
      r = write_initial_stack(*mm, lim, p, args, envp, filename, aux, in);
    }
    mm->start_ip = aux.ip;
  }
  if (!r) {
    // Past the point of no return the old image is gone: the process dies of SIGSEGV as
    // Linux's does (the handle kills it once this call has returned).
    doomed = lx::sigsegv;
    return fail(r.error());
  }
  // The process's layout listener follows it to its new image (unless its old address space
  // stays with another process: a vfork parent keeps its own).
  if (mm_.use_count() == 1) {
    MmWriteLock old_lock(*mm_);
    MmWriteLock new_lock(*mm);
    mm_->notify(LayoutChange::unmapped, 0, mm_->task_size);
    mm->listener = std::move(mm_->listener);
    mm->notify_replaced();
  }
  mm_ = std::move(mm);
  // A descriptor table shared with other processes is unshared first (Linux: unshare_files).
  if (files_.use_count() > 1) files_ = std::make_shared<FdTable>(*files_);
  files_->close_on_exec();
  return {};
}

}  // namespace vmspace
