// Script mode of the differential test (see script_mode.cpp).
#pragma once

#include <string>

namespace difftest {

// Runs the script at `path` on the kernel and on vmspace; 0 when both and the script agree.
int run_script_mode(const std::string &oracle, const std::string &path, bool annotate);

}  // namespace difftest
