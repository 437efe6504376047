// Built-in example scripts (the tour is examples/tour.vms, compiled in).
#pragma once

#include <string>

namespace vmspace_cli {

// The text of a built-in example, or null.
const char *builtin_example(const std::string &name);

}  // namespace vmspace_cli
