// The memory directives of scripts and traces: @poke ADDR "BYTES", @peek ADDR LEN,
// @fill ADDR LEN BYTE and @touch ADDR LEN [read|write|exec], each with an optional
// "= RESULT", and a recorded trace's "@touch ADDR LEN how SIGSEGV|SIGBUS SI_CODE".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "trace/runner.hpp"
#include "trace/script.hpp"
#include "vmspace/process.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

// What a memory directive needs from the runner that meets it.
struct MemoryDirectiveIo {
  std::function<bool(const std::string &word, uint64_t *v)> value;  // an operand's value
  std::function<void(const std::string &line)> print;               // the directive as run
  std::function<void(const std::string &expected, const std::string &actual)> mismatch;
  std::function<void(const std::string &message)> error;  // bad input
  RunStats *stats = nullptr;
};

// Runs d on p; false on bad input (reported through io.error or io.value).
bool run_memory_directive(Process &p, const Directive &d, MemoryDirectiveIo &io);

// A path argument given as a guest address, read as the kernel's getname reads it: page by
// page up to its NUL; Errno::fault when a byte before the NUL cannot be loaded,
// Errno::nametoolong when 4096 bytes (PATH_MAX) hold no NUL.
Errno guest_path(Process &p, uint64_t addr, std::string *out);

}  // namespace vmspace
