// vmspace — the command-line tool.
//
//   vmspace run [--root DIR] [--ignore-unknown] SCRIPT     run a script ("-" reads stdin)
//   vmspace bench [--quick] [FIGURE...]                    benchmarks against the host kernel
//   vmspace record -o TRACE [--checkpoints=each|end] -- CMD [ARGS...]
//   vmspace replay [--json] [--strace] TRACE
//   vmspace help
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/vmspace/commands.hpp"

namespace {
void usage(FILE *f) {
  std::fputs(
      "usage: vmspace run [--root DIR] [--ignore-unknown] SCRIPT\n"
      "       vmspace bench [--quick] [FIGURE...]\n"
      "       vmspace record -o TRACE [--checkpoints=each|end] -- CMD [ARGS...]\n"
      "       vmspace replay [--json] [--strace] TRACE\n"
      "\n"
      "  run     execute a script of memory system calls (strace syntax) on a guest address\n"
      "          space and print every call with its result; exit 0 when all expectations\n"
      "          hold, 1 when one does not, 2 on bad input. SCRIPT '-' reads standard input;\n"
      "          'vmspace run --example tour' runs the built-in tour.\n"
      "  bench   measure vmspace against the host kernel on the same operation sequences\n"
      "  record  run CMD on the host kernel under ptrace (ASLR off) and write its memory\n"
      "          system calls, with results and maps checkpoints, as a script\n"
      "  replay  run a recorded trace on vmspace and report whether every call and\n"
      "          checkpoint is identical (exit 0 only then); --strace: TRACE is the log of\n"
      "          strace -f -o LOG -e trace=memory,desc,process CMD\n",
      f);
}
}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "run") return vmspace_cli::cmd_run(args);
  if (cmd == "bench") return vmspace_cli::cmd_bench(args);
  if (cmd == "record") return vmspace_cli::cmd_record(args);
  if (cmd == "replay") return vmspace_cli::cmd_replay(args);
  std::fprintf(stderr, "vmspace: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}
