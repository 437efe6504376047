// What the recorder reads of a traced process: its memory (strings and string arrays of
// system-call arguments) and its /proc files (maps, smaps, status, descriptors).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vmspace {

// Bytes, a NUL-terminated string (at most 1 MiB) and a NULL-terminated string array of the
// tracee; false when its memory cannot be read there.
bool read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);
bool read_string(pid_t pid, uint64_t addr, std::string *out);
bool read_strvec(pid_t pid, uint64_t addr, std::vector<std::string> *out);
// ["a", "b"] as strace prints a string array.
std::string strvec_text(const std::vector<std::string> &v);

// A whole file ("" when it cannot be read).
std::string slurp(const std::string &path);
// Page faults the process (all its threads) has taken: minflt + majflt of /proc/PID/stat (0 when
// it cannot be read).
uint64_t fault_count(pid_t pid);
// The memory lines of /proc/PID/status vmspace renders (VmPeak ... VmLib).
std::string status_lines(pid_t pid);

// The VMAs of a process with whether they hold anonymous pages (smaps "Anonymous:").
struct VmaAnon {
  uint64_t start, end;
  bool anon;
  bool growsdown;
};
std::vector<VmaAnon> anon_snapshot(pid_t pid);
// The VMAs of /proc/PID/maps (no anon or growsdown information: cheaper than smaps).
std::vector<VmaAnon> maps_ranges(pid_t pid);

// Lowercase hex of bytes, and bytes [off, off+len) of a file (fewer at its end).
std::string hex_of(const std::string &bytes);
std::string read_file_range(int fd, uint64_t off, uint64_t len);
// The @hostfile line of a file the program named `key` (status `st`, shown in maps as `shown`).
std::string hostfile_line(const std::string &key, const struct stat &st, const std::string &shown);
// "@fd N" or "@fd N cloexec", from /proc/PID/fdinfo/N.
std::string fd_line(pid_t pid, long fd);

}  // namespace vmspace
