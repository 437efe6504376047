// Reading a script or trace: a regular file (mapped read-only, so that its size costs no
// memory), a pipe or FIFO (read whole, up to a bound), or standard input ("-"). Directories,
// devices and sockets are refused: they are no scripts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vmspace_cli {

class InputText {
 public:
  InputText() = default;
  InputText(const InputText &) = delete;
  InputText &operator=(const InputText &) = delete;
  ~InputText();

  // False with "PATH:1:1: message" in *error.
  bool open(const std::string &path, std::string *error);
  std::string_view text() const { return view_; }

  // The most bytes read from a pipe or standard input.
  static constexpr size_t kMaxPipeBytes = 1ull << 30;

 private:
  std::string_view view_;
  void *map_ = nullptr;
  size_t map_len_ = 0;
  std::string buf_;
};

}  // namespace vmspace_cli
