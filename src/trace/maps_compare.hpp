// Comparing /proc/PID/maps text (the runner's @maps and @smaps checks). maps_line_matches is
// declared in runner.hpp.
#pragma once

#include <string>
#include <vector>

namespace vmspace {

// The lines of a text.
std::vector<std::string> text_lines(const std::string &text);
// A maps line's fields: the five blank-free ones, then the name (the rest of the line, its
// blanks at both ends removed).
std::vector<std::string> maps_fields(const std::string &line);

}  // namespace vmspace
