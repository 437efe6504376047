// The memory lines of /proc/PID/status that depend on the VMA layer (Linux:
// fs/proc/task_mmu.c task_mem): VmPeak, VmSize, VmLck, VmPin, VmData, VmStk,
// VmExe, VmLib; and from the page layer VmHWM, VmRSS, RssAnon, RssFile, RssShmem, VmPTE,
// VmSwap (no swap: 0).
#include <algorithm>
#include <cstdio>

#include "mm/address_space.hpp"
#include "proc/maps.hpp"

namespace vmspace {

namespace {
void line(std::string &out, const char *key, uint64_t kb) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s:\t%8llu kB\n", key, static_cast<unsigned long long>(kb));
  out += buf;
}
}  // namespace

std::string render_status(const AddressSpace &mm) {
  const unsigned to_kb = mm.page_shift - 10;
  uint64_t total = mm.total_vm;
  uint64_t peak = mm.hiwater_vm > total ? mm.hiwater_vm : total;
  uint64_t text = mm.page_align(mm.end_code) - (mm.start_code & ~(mm.page_size - 1));
  uint64_t exec_bytes = mm.exec_vm << mm.page_shift;
  if (text > exec_bytes) text = exec_bytes;
  uint64_t lib = exec_bytes - text;
  std::string out;
  line(out, "VmPeak", peak << to_kb);
  line(out, "VmSize", total << to_kb);
  line(out, "VmLck", mm.locked_vm << to_kb);
  line(out, "VmPin", 0);
  // RSS in pages, with the counters an imported layout started from (rss_base).
  const uint64_t anon = mm.rss_anon + mm.rss_base[0], file = mm.rss_file + mm.rss_base[1],
                 shmem = mm.rss_shmem + mm.rss_base[2];
  const uint64_t rss = anon + file + shmem;
  const uint64_t hwm = std::max(
      {mm.hiwater_rss + mm.rss_base[0] + mm.rss_base[1] + mm.rss_base[2], rss, mm.rss_base[3]});
  line(out, "VmHWM", hwm << to_kb);
  line(out, "VmRSS", rss << to_kb);
  line(out, "RssAnon", anon << to_kb);
  line(out, "RssFile", file << to_kb);
  line(out, "RssShmem", shmem << to_kb);
  line(out, "VmData", mm.data_vm << to_kb);
  line(out, "VmStk", mm.stack_vm << to_kb);
  line(out, "VmExe", text >> 10);
  line(out, "VmLib", lib >> 10);
  line(out, "VmPTE", (mm.pt.table_bytes() >> 10) + mm.rss_base[4]);
  line(out, "VmSwap", 0);
  return out;
}

std::string vm_status_lines(std::string_view status) {
  static constexpr std::string_view keys[] = {
      "VmPeak:", "VmSize:", "VmLck:", "VmPin:", "VmData:", "VmStk:", "VmExe:", "VmLib:"};
  std::string out;
  while (!status.empty()) {
    const size_t nl = status.find('\n');
    const std::string_view line = status.substr(0, nl);
    for (std::string_view k : keys)
      if (line.substr(0, k.size()) == k) {
        out.append(line);
        out += '\n';
      }
    if (nl == std::string_view::npos) break;
    status.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace vmspace
