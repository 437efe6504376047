// The figures of `vmspace bench` that live outside bench.cpp.
#pragma once

#include <cstddef>

namespace vmspace_cli {

// `vmspace replay` speed (bench_replay.cpp): calls per second of replaying a trace from its
// text, and of the host kernel making the same calls.
struct ReplayFigure {
  long calls = 0, identical = 0;
  size_t bytes = 0;  // the trace's size
  double vmspace = 0, kernel = 0;
};
// False when a call failed or the replay did not find every call identical.
bool bench_replay(bool quick, ReplayFigure *fig);

}  // namespace vmspace_cli
