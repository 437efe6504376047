// Built-in examples, generated from examples/*.vms at build time.
#include "tools/vmspace/examples.hpp"

namespace vmspace_cli {

namespace {
const char kTour[] =
#include "tour_script.inc"
    ;
}  // namespace

const char *builtin_example(const std::string &name) {
  if (name == "tour") return kTour;
  return nullptr;
}

}  // namespace vmspace_cli
