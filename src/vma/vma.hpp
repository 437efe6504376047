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
#include "vmspace/abi.hpp"

namespace vmspace {

// The VM_* flag bits (vm::read, vm::growsdown, ...) are public: include/vmspace/abi.hpp.

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
