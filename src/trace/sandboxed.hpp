// Running a script or a replay so that nothing is left behind and nothing exhausts the host
// (for the vmspace tool and any other front end of the trace library).
//
// A small parent process owns the sandbox directory: it makes it, runs the work in a child
// (the worker), waits, and removes the sandbox whatever happened to the worker: a normal
// end, bad input, a crash, or SIGINT, SIGTERM, SIGHUP or SIGQUIT sent to the parent (passed
// on to the worker). The worker runs with the guest model's memory limit (--max-memory) and,
// in builds without AddressSanitizer, an address-space limit above it as a backstop: running
// out of host memory anywhere ends the run with a message and exit status 2, never with
// std::bad_alloc, abort() or the host's OOM killer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace vmspace {

// "N", "NK", "NM", "NG" (powers of 1024) as bytes; false when it is not one.
bool parse_size(const std::string &s, uint64_t *bytes);

// The default --max-memory: a quarter of the host's RAM, and at most a quarter of an
// address-space limit (ulimit -v) the caller already has.
uint64_t default_max_memory();

// Makes the sandbox (a fresh directory vmspace-WHAT-XXXXXX under $TMPDIR, or /tmp, unless
// `root` names an existing directory, which is used and kept), runs work(sandbox) in a
// worker process, removes a fresh sandbox, and returns the worker's exit status. A worker
// killed by a signal it was not sent gives a message and 128 + the signal; a signal sent to
// the parent ends it by that signal once the sandbox is gone.
int run_sandboxed(const char *what, const std::string &root, uint64_t max_memory,
                  const std::function<int(const std::string &sandbox)> &work);

}  // namespace vmspace
