// libFuzzer target: execve of a fuzzed file. The input is the program's bytes (an ELF file
// or a "#!" script); a second file, "interp", holds the bytes after the first "\n--\n" (an
// interpreter or a PT_INTERP loader the program may name). Both are executed by vmspace's
// execve, then every address space is checked (see harness.hpp).
#include <sys/stat.h>

#include <cstring>

#include "harness.hpp"

namespace {
bool write_file(const std::string &path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) return false;
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  return ok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace vmspace;
  std::string_view in(reinterpret_cast<const char *>(data), size);
  std::string_view prog = in, interp;
  const size_t cut = in.find("\n--\n");
  if (cut != std::string_view::npos) {
    prog = in.substr(0, cut);
    interp = in.substr(cut + 4);
  }
  fuzz::Sandbox sb;
  if (!write_file(sb.dir() + "/prog", prog) || !write_file(sb.dir() + "/interp", interp))
    std::abort();
  System sys(fuzz::tight_config(sb.dir()));
  Process p = sys.spawn();
  const int pid = p.pid();
  (void)p.execve("prog", {"prog", "arg"}, {"A=1"});
  fuzz::check_all(sys);
  if (Process q = sys.process(pid)) {
    (void)q.maps();
    // The new image must take ordinary calls.
    (void)q.mmap(0, 8192, 3, 0x22, ~0ull, 0);
    (void)q.brk(0);
    (void)q.brk(q.brk(0) + 12345);
    (void)q.execve("interp", {"interp"}, {});
  }
  fuzz::check_all(sys);
  return 0;
}
