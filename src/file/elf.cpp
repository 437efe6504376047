// Reading ELF headers for execve. See elf.hpp.
#include "file/elf.hpp"

#include <unistd.h>

#include <cstring>

namespace vmspace {

namespace {
constexpr uint16_t kEmX86_64 = 62;
constexpr size_t kEhdrSize = 64, kPhdrSize = 56;
constexpr uint64_t kPathMax = 4096;

template <class T>
T get(const unsigned char *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool read_at(int fd, void *buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n =
        ::pread(fd, static_cast<char *>(buf) + done, len - done, static_cast<off_t>(off + done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}
}  // namespace

Result<ElfImage> read_elf(int fd) {
  unsigned char eh[kEhdrSize] = {};
  // Linux reads the first bytes of the file into bprm->buf; a short file leaves zeros.
  ssize_t got = ::pread(fd, eh, sizeof eh, 0);
  if (got < 0) return fail(Errno::io);
  if (std::memcmp(eh, "\177ELF", 4) != 0) return fail(Errno::noexec);
  ElfImage img;
  img.type = get<uint16_t>(eh + 16);
  if (img.type != elf::et_exec && img.type != elf::et_dyn) return fail(Errno::noexec);
  if (get<uint16_t>(eh + 18) != kEmX86_64) return fail(Errno::noexec);
  img.entry = get<uint64_t>(eh + 24);
  img.phoff = get<uint64_t>(eh + 32);
  const uint16_t phentsize = get<uint16_t>(eh + 54);
  img.phnum = get<uint16_t>(eh + 56);
  // Linux: load_elf_phdrs.
  if (phentsize != kPhdrSize) return fail(Errno::noexec);
  const size_t size = static_cast<size_t>(img.phnum) * kPhdrSize;
  if (img.phnum < 1 || size > 65536) return fail(Errno::noexec);
  std::vector<unsigned char> ph(size);
  if (!read_at(fd, ph.data(), size, img.phoff)) return fail(Errno::noexec);
  for (size_t i = 0; i < img.phnum; i++) {
    const unsigned char *p = ph.data() + i * kPhdrSize;
    ElfSegment s;
    s.type = get<uint32_t>(p);
    s.flags = get<uint32_t>(p + 4);
    s.offset = get<uint64_t>(p + 8);
    s.vaddr = get<uint64_t>(p + 16);
    s.filesz = get<uint64_t>(p + 32);
    s.memsz = get<uint64_t>(p + 40);
    s.align = get<uint64_t>(p + 48);
    img.phdrs.push_back(s);
  }
  // The first PT_INTERP names the interpreter.
  for (const ElfSegment &s : img.phdrs) {
    if (s.type != elf::pt_interp) continue;
    if (s.filesz > kPathMax || s.filesz < 2) return fail(Errno::noexec);
    std::string path(s.filesz, '\0');
    if (!read_at(fd, path.data(), s.filesz, s.offset)) return fail(Errno::io);
    if (path.back() != '\0') return fail(Errno::noexec);
    path.resize(std::strlen(path.c_str()));
    img.interp = path;
    break;
  }
  for (const ElfSegment &s : img.phdrs) {
    if (s.type != elf::pt_gnu_stack) continue;
    img.exec_stack = s.flags & elf::pf_x;
    img.no_exec_stack = !img.exec_stack;
  }
  return img;
}

}  // namespace vmspace
