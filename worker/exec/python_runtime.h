// PythonRuntime: owns the one embedded CPython interpreter of a worker
// process (pybind11 scoped_interpreter) for the life of the process.
//
// Contract: construct once, in the main thread, before any pool thread
// starts. Start-up: the interpreter is configured (PyConfig) as if it were
// `program` (options.venv's bin/python3, else the Python zfleet was built
// with, /usr/bin/python3), so CPython's own path calculation finds the
// venv's pyvenv.cfg: tasks see sys.executable = that program, sys.prefix =
// the venv and its site-packages (and never the worker binary as
// sys.executable, which multiprocessing's spawn would start). The venv must
// already have passed check_venv() (config/venv.h). Python's own signal handlers
// are NOT installed (the worker's main owns SIGINT/SIGTERM). Then, under the
// GIL: sys.dont_write_bytecode is set, options.path goes on sys.path just
// ahead of the first site-packages (or dist-packages) entry, the script
// roots are appended to sys.path (so task scripts can import helper modules
// next to them; those helpers are imported normally and are NOT
// hot-reloaded), the modules the executor needs are imported, and
// sys.stdout, sys.stderr and the root logger are pointed at the worker's
// log (install_output_capture, output_capture.h).
// Then it RELEASES the GIL so pool threads can take it. The destructor takes
// the GIL back and finalizes: every thread that ran Python (pool threads,
// TaskRunner's watchdog) must be joined and every TaskRunner destroyed first.
// Throws std::runtime_error when the interpreter cannot start.
//
// finalize() is the worker's way out (issue 11, point 3): Py_Finalize joins
// every non-daemon thread task code left behind (threading._shutdown), for
// ever if one loops, so a stopped worker would never exit. finalize() takes
// the GIL, flushes sys.stdout and sys.stderr, and when such threads are
// alive logs their names and returns false WITHOUT finalizing: the caller
// must then leave with _exit. Otherwise it finalizes and returns true. The
// whole of it is bounded by `limit` (an atexit handler or a __del__ of task
// code can block too): past it, the process _exits with `exit_code`. Same
// preconditions as the destructor, which then does nothing.
//
// Thread safety: construct and destroy in the main thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/venv.h"

namespace zfleet::worker {

using config::PythonVersion;

struct PythonOptions {
  std::vector<std::string> script_roots;  // appended to sys.path
  std::vector<std::string> path;          // ahead of site-packages on sys.path
  std::string venv;                       // "" = none
  std::string log_level = "info";         // the worker's logging.level: task code's root logger
};

// The major.minor of the libpython this process runs (Py_Version); callable
// before any interpreter exists.
PythonVersion embedded_python_version();

class PythonRuntime {
 public:
  explicit PythonRuntime(const PythonOptions& options);
  ~PythonRuntime();
  PythonRuntime(const PythonRuntime&) = delete;
  PythonRuntime& operator=(const PythonRuntime&) = delete;

  bool finalize(std::chrono::milliseconds limit, int exit_code);

  // Implementation detail: the pybind11 guards live in a type derived from
  // this one (python_runtime.cpp), which keeps pybind11's hidden visibility
  // (py_visibility.h) out of this header.
  struct StateBase {
    virtual ~StateBase() = default;
  };

 private:
  std::unique_ptr<StateBase> interpreter_;  // the scoped_interpreter
  std::unique_ptr<StateBase> released_;     // the main thread's GIL, let go
};

}  // namespace zfleet::worker
