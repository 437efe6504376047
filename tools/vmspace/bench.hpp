// The figures of `vmspace bench` that live outside bench.cpp.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

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

// The page-layer figures (bench_pages.cpp); `only` names the ones to run (empty: all).
struct PageFigure {
  std::string name, unit;
  double vmspace = 0, kernel = 0;  // kernel <= 0: no kernel figure
};
std::vector<PageFigure> bench_pages(bool quick, const std::vector<std::string> &only);
bool is_page_figure(const std::string &name);

}  // namespace vmspace_cli
