// libFuzzer target: the input as a trace (see harness.hpp).
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return vmspace::fuzz::run_text(std::string_view(reinterpret_cast<const char *>(data), size),
                                 vmspace::fuzz::Mode::trace);
}
