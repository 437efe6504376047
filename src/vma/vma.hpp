// The VMA value type (Linux: struct vm_area_struct) and its flag bits.
//
// A Vma is a copyable value describing [start, end) of one address space. It refers to
// shared objects only through the small seam types below, so that src/vma compiles and is
// tested without any page or file code (Linux does the same with tools/testing/vma).
//
// Fields that split and merge must carry (keep this list next to the struct):
//   flags, file (+pgoff advanced on split), anon (+anon_has_parents), anon_name, special.
// Merging compares: flags (ignoring VM_SOFTDIRTY), file identity, anon_vma compatibility,
// anon_name, contiguous pgoff, and refuses special mappings (see merge.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "base/ref.hpp"

namespace vmspace {

// VM_* flag bits, numbered as in Linux's include/linux/mm.h (x86-64).
namespace vm {
inline constexpr uint64_t none = 0;
inline constexpr uint64_t read = 0x1;
inline constexpr uint64_t write = 0x2;
inline constexpr uint64_t exec = 0x4;
inline constexpr uint64_t shared = 0x8;
inline constexpr uint64_t mayread = 0x10;
inline constexpr uint64_t maywrite = 0x20;
inline constexpr uint64_t mayexec = 0x40;
inline constexpr uint64_t mayshare = 0x80;
inline constexpr uint64_t growsdown = 0x100;
inline constexpr uint64_t uffd_missing = 0x200;
inline constexpr uint64_t pfnmap = 0x400;
inline constexpr uint64_t maybe_guard = 0x800;
inline constexpr uint64_t uffd_wp = 0x1000;
inline constexpr uint64_t locked = 0x2000;
inline constexpr uint64_t io = 0x4000;
inline constexpr uint64_t seq_read = 0x8000;
inline constexpr uint64_t rand_read = 0x10000;
inline constexpr uint64_t dontcopy = 0x20000;
inline constexpr uint64_t dontexpand = 0x40000;
inline constexpr uint64_t lockonfault = 0x80000;
inline constexpr uint64_t account = 0x100000;
inline constexpr uint64_t noreserve = 0x200000;
inline constexpr uint64_t hugetlb = 0x400000;
inline constexpr uint64_t sync = 0x800000;
inline constexpr uint64_t arch_1 = 0x1000000;
inline constexpr uint64_t wipeonfork = 0x2000000;
inline constexpr uint64_t dontdump = 0x4000000;
inline constexpr uint64_t softdirty = 0x8000000;
// Flags that do not stop a merge and that the merged VMA keeps if any part had them
// (Linux 6.18: VM_STICKY, VM_IGNORE_MERGE).
inline constexpr uint64_t sticky = softdirty | maybe_guard;
inline constexpr uint64_t mixedmap = 0x10000000;
inline constexpr uint64_t hugepage = 0x20000000;
inline constexpr uint64_t nohugepage = 0x40000000;
inline constexpr uint64_t mergeable = 0x80000000;
inline constexpr uint64_t uffd_minor = 1ull << 41;
inline constexpr uint64_t droppable = 1ull << 40;
inline constexpr uint64_t sealed = 1ull << 42;

inline constexpr uint64_t access_flags = read | write | exec;
inline constexpr uint64_t special = io | dontexpand | pfnmap | mixedmap;
inline constexpr uint64_t stack = growsdown;
inline constexpr uint64_t locked_mask = locked | lockonfault;
}  // namespace vm

// The file a VMA maps (Linux: struct file). Identity matters: two open() calls of one inode
// are different files and their VMAs never merge; dup()ed descriptors share one.
class MappedFile : public RefCounted {
 public:
  // Fields shown by /proc/PID/maps.
  virtual uint32_t dev_major() const = 0;
  virtual uint32_t dev_minor() const = 0;
  virtual uint64_t ino() const = 0;
  // The path as d_path shows it, including " (deleted)" where the file is gone.
  virtual std::string maps_path() const = 0;
  // VMAs of this file split only at multiples of this size (hugetlbfs: the huge page size;
  // Linux: vm_ops->may_split). 0 means any page boundary.
  virtual uint64_t split_granule() const { return 0; }
};

// Anonymous-memory identity (Linux: struct anon_vma). VMAs that share pages share one.
class AnonVma : public RefCounted {
 public:
  explicit AnonVma(uint64_t id, Ref<AnonVma> parent = nullptr)
      : id_(id), parent_(std::move(parent)) {}
  uint64_t id() const { return id_; }
  const Ref<AnonVma> &parent() const { return parent_; }

 private:
  uint64_t id_;
  Ref<AnonVma> parent_;  // the fork parent's anon_vma, if any
};

// A user-supplied name for anonymous memory (prctl PR_SET_VMA_ANON_NAME).
class AnonName : public RefCounted {
 public:
  explicit AnonName(std::string n) : name(std::move(n)) {}
  const std::string name;
};

// Special mappings installed by the kernel (Linux: struct vm_special_mapping).
enum class Special : uint8_t { none, vvar, vvar_vclock, vdso, vsyscall };

class VmaTree;

struct Vma {
  uint64_t start = 0;  // first byte
  uint64_t end = 0;    // one past the last byte
  uint64_t flags = 0;  // vm::* bits
  uint64_t pgoff = 0;  // offset in pages (file), or address >> PAGE_SHIFT at creation (anon)
  Ref<MappedFile> file;
  Ref<AnonVma> anon;
  // True when the anon_vma chain holds more than one entry: the VMA still shares pages with a
  // fork parent (Linux: !list_is_singular(&vma->anon_vma_chain)).
  bool anon_has_parents = false;
  Special special = Special::none;
  // The VMA has vm_operations (file-backed, shmem, special). Private /dev/zero mappings keep
  // their file but no operations, and count as anonymous (Linux: vma_is_anonymous).
  bool vm_ops = false;
  Ref<AnonName> anon_name;

  Vma() = default;
  // Copies describe the same range and attributes but are not in any tree.
  Vma(const Vma &o) { *this = o; }
  Vma &operator=(const Vma &o) {
    start = o.start;
    end = o.end;
    flags = o.flags;
    pgoff = o.pgoff;
    file = o.file;
    anon = o.anon;
    anon_has_parents = o.anon_has_parents;
    special = o.special;
    vm_ops = o.vm_ops;
    anon_name = o.anon_name;
    return *this;
  }

  uint64_t size() const { return end - start; }
  bool is_anonymous() const { return !vm_ops; }

 private:
  friend class VmaTree;
  void *leaf_ = nullptr;  // owned by VmaTree: the leaf that holds this VMA
};

}  // namespace vmspace
