// The core of mmap(2) below the descriptor lookup, for the system call and for execve's ELF
// loader.
#pragma once

#include <cstdint>

#include "base/ref.hpp"
#include "file/inode.hpp"
#include "mm/address_space.hpp"

namespace vmspace {

// Linux: do_mmap with a resolved file (null for anonymous memory). pgoff in pages. The caller
// holds mm.mmap_lock exclusively.
Result<uint64_t> do_mmap(AddressSpace &mm, const TaskLimits &lim, Ref<OpenFile> file, uint64_t addr,
                         uint64_t len, uint64_t prot, uint64_t flags, uint64_t pgoff);

}  // namespace vmspace
