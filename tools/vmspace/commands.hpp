// Subcommands of the vmspace tool; each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace vmspace_cli {

int cmd_run(const std::vector<std::string> &args);
int cmd_bench(const std::vector<std::string> &args);
int cmd_record(const std::vector<std::string> &args);
int cmd_replay(const std::vector<std::string> &args);

}  // namespace vmspace_cli
