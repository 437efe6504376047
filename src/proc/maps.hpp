// /proc/PID/maps rendering (Linux: fs/proc/task_mmu.c show_map_vma, get_vma_name).
#pragma once

#include <string>

namespace vmspace {

class AddressSpace;
struct Vma;

// The whole maps file of an address space, [vsyscall] included.
std::string render_maps(const AddressSpace &mm);
// One line (with its newline) for one VMA.
void render_maps_line(const AddressSpace &mm, const Vma &v, std::string &out);
// The name column of a VMA ("" when it has none).
std::string vma_name(const AddressSpace &mm, const Vma &v);

}  // namespace vmspace
