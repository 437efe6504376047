// Subcommands of the vmspace tool; each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace vmspace_cli {

int cmd_run(const std::vector<std::string> &args);
// A fresh sandbox directory under $TMPDIR (or /tmp) named vmspace-WHAT-XXXXXX; "" (with the
// reason printed) when it cannot be made.
std::string make_sandbox(const char *what);
int cmd_bench(const std::vector<std::string> &args);
int cmd_record(const std::vector<std::string> &args);
int cmd_replay(const std::vector<std::string> &args);

}  // namespace vmspace_cli
