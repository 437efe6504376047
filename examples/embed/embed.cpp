// The smallest useful embedding of vmspace in C++: a guest process, a mapping, a split, and
// the maps text Linux would show. Exits 0 when every answer is Linux's.
#include <vmspace/process.hpp>
#include <vmspace/system.hpp>

#include <cstdio>

int main() {
  using namespace vmspace;
  System sys;
  Process p = sys.spawn();
  Result<uint64_t> a = p.mmap(0, 3 * 4096, lx::prot_read | lx::prot_write,
                              lx::map_private | lx::map_anonymous, ~0ull, 0);
  if (!a || *a != 0x7ffff7ff4000) return 1;                        // as on the kernel
  if (!p.mprotect(*a + 4096, 4096, lx::prot_read)) return 1;       // splits in three
  if (p.munmap(0x1001, 1).error() != Errno::inval) return 1;       // unaligned
  std::fputs(p.maps().c_str(), stdout);
  return p.map_count() == 7 ? 0 : 1;  // [vsyscall] is no VMA
}
