// /proc/PID/maps rendering (Linux: fs/proc/task_mmu.c show_map_vma, get_vma_name).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vmspace {

class AddressSpace;
struct Vma;

// The whole maps file of an address space, [vsyscall] included.
std::string render_maps(const AddressSpace &mm);
// One line (with its newline) for one VMA.
void render_maps_line(const AddressSpace &mm, const Vma &v, std::string &out);
// The name column of a VMA ("" when it has none).
std::string vma_name(const AddressSpace &mm, const Vma &v);

// The VmFlags line of smaps without its key: "rd wr mr mw me ac " (Linux:
// show_smap_vma_flags).
std::string render_vm_flags(uint64_t flags);
// The flag of one VmFlags code ("rd" -> VM_READ); 0 for an unknown code.
uint64_t vm_flag_from_mnemonic(std::string_view code);

// The smaps entry of one VMA: its maps line, the counters of its pages and VmFlags (Linux:
// show_smap). The caller holds mm.mmap_lock.
void render_smaps_entry(const AddressSpace &mm, const Vma &v, std::string &out);
// /proc/PID/smaps_rollup: the counters of every VMA summed, under a header line spanning them
// (Linux: show_smaps_rollup). The caller holds mm.mmap_lock.
void render_smaps_rollup(const AddressSpace &mm, std::string &out);

// The memory lines of /proc/PID/status the VMA layer decides (VmPeak, VmSize, VmLck, VmPin,
// VmData, VmStk, VmExe, VmLib), as Linux formats them. The caller holds mm.mmap_lock.
std::string render_status(const AddressSpace &mm);

// The lines of /proc/PID/status text (the kernel's or Process::status()) that vmspace renders:
// VmPeak, VmSize, VmLck, VmPin, VmData, VmStk, VmExe, VmLib, in their order there.
std::string vm_status_lines(std::string_view status);

}  // namespace vmspace
