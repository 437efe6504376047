// The kB figure of one field of a /proc/PID/smaps entry, for tests that check what a step did
// to Rss, AnonHugePages, LazyFree, ...
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace vmspace {

// ~0 when the entry has no such field.
inline uint64_t field_kb(const std::string &smaps, const char *key) {
  const size_t at = smaps.find(std::string("\n") + key);
  if (at == std::string::npos) return ~0ull;
  return std::strtoull(smaps.c_str() + at + 1 + std::string(key).size(), nullptr, 10);
}

}  // namespace vmspace
