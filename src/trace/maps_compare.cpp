// Comparing /proc/PID/maps text: lines, fields, and expected lines against actual ones.
#include "trace/maps_compare.hpp"

#include <sstream>

#include "trace/runner.hpp"

namespace vmspace {

std::vector<std::string> text_lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

// Maps lines compare field by field, blanks collapsed; "*" in the expected line matches any
// field, and $ROOT stands for the sandbox directory.
std::vector<std::string> maps_fields(const std::string &line) {
  std::vector<std::string> f;
  std::istringstream in(line);
  std::string w;
  // The first five fields are blank-free; the name is the rest of the line.
  for (int i = 0; i < 5 && (in >> w); i++) f.push_back(w);
  std::string rest;
  std::getline(in, rest);
  size_t b = rest.find_first_not_of(' ');
  if (b != std::string::npos) {
    rest = rest.substr(b);
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.pop_back();
    f.push_back(rest);
  }
  return f;
}

bool maps_line_matches(const std::string &expected, const std::string &actual,
                       const std::string &root) {
  std::vector<std::string> e = maps_fields(expected), a = maps_fields(actual);
  if (e.size() != a.size()) return false;
  // Files on the kernel's internal shmem mount (device 00:01: MAP_SHARED|MAP_ANONYMOUS,
  // memfd, SysV shm) take inode numbers from a counter shared by the whole machine: no guest
  // can predict them, so they are not compared.
  const bool shmem_inode = e.size() > 4 && e[3] == "00:01" && a[3] == "00:01";
  for (size_t i = 0; i < e.size(); i++) {
    if (e[i] == "*" || (i == 4 && shmem_inode)) continue;
    std::string want = e[i];
    size_t p = want.find("$ROOT");
    if (p != std::string::npos) want.replace(p, 5, root);
    if (want != a[i]) return false;
  }
  return true;
}

}  // namespace vmspace
