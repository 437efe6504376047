// The figures of `vmspace bench` that live outside bench.cpp.
#pragma once

#include <cstddef>
#include <functional>

namespace vmspace_cli {

// Runs `measure` in a forked child (the kernel side of a figure: the tool's own memory stays
// out of it) and returns what it returned, or 0 when the child failed.
double in_child(const std::function<double()> &measure);

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
