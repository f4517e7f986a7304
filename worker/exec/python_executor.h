// PythonExecutor: runs one Python task (module lookup, function lookup,
// args/kwargs conversion, the call, the result conversion, the timeout) in
// the calling pool thread. TaskRunner (task_runner.h) is the entry point
// that pool threads use; this is its Python half.
//
// GIL rules of the worker's task execution (the one place they are stated):
// 1. One interpreter per process (PythonRuntime). The main thread releases
//    the GIL after start-up and takes it back only to finalize.
// 2. The I/O thread never touches Python. request_clear() only queues.
// 3. A pool thread takes the GIL for a Python task with GilAcquire (gil.h),
//    which keeps one Python thread state per OS thread for the thread's life:
//    taking the GIL per task then costs a thread-state swap, not building a
//    new thread state (DESIGN.md decision 2). Script resolution and the file
//    stat happen BEFORE taking the GIL; builtins never take it.
// 4. Every Python object is created, copied and destroyed under the GIL. No
//    global or static Python objects; the cached ones live in PyState, which
//    is created and destroyed under the GIL.
// 5. Blocking C++ waits drop the GIL first (GilRelease): waiting for another
//    thread's load of the same module. Lock order is always GIL, then a C++
//    mutex; nothing is decref'd while a C++ mutex is held.
// 6. The timeout watchdog is a C++ thread that takes the GIL only to call
//    PyThreadState_SetAsyncExc; the pool thread disarms (and clears a pending
//    exception) under the GIL right after the call, before running any other
//    Python code, so a timeout or a cancel never leaks into the next task.
//    A cancel request comes from the I/O thread through the task's
//    CancelFlag, which only marks the arm and wakes the watchdog (rule 2).
// 7. Threads that ran Python are joined without holding the GIL, and before
//    the PythonRuntime is destroyed.
// CPython 3.11 runs bytecode one thread at a time: Python tasks of one
// process share one GIL; CPU-bound Python scales with processes.
//
// Timeouts: the deadline counts from run()'s start and covers the module load
// and the call. The watchdog raises zfleet.TaskTimeout (a BaseException, so
// `except Exception` in task code does not swallow it). A task reports
// `timeout` when the exception fired, or when it finished (ok, exception or
// unserializable result) after the deadline.
//
// Output: while run() holds the GIL, a TaskOutputScope makes what the task
// (its module load included) writes to sys.stdout/sys.stderr go to the log
// tagged with in.id, and, when in.capture_output or the OutputPolicy says
// so, come back in TaskOutput::output (output_capture.h).
//
// Cancel: when in.cancel is raised during run(), the watchdog raises
// zfleet.TaskCancelled (also a BaseException, distinct from TaskTimeout) and
// the task reports `cancelled`. Raised before the GIL is taken, the call is
// not made at all. A call that returns (or raises something else) before the
// exception lands keeps its own outcome. A call blocked in C sees it only
// when it returns; the worker counts such a task as stuck from the cancel
// (RunningTasks) so kill_grace_ms recycling applies as for a timeout.
//
// Thread safety: run() is safe from many threads at once. Construct and
// destroy without holding the GIL (both take it); a PythonRuntime must exist.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "worker/exec/script_path.h"
#include "worker/exec/task_io.h"

namespace zfleet::worker {

class TimeoutWatchdog;

class PythonExecutor {
 public:
  using Clock = std::chrono::steady_clock;

  // `resolver` must outlive the executor (request_clear resolves names).
  explicit PythonExecutor(const ScriptResolver& resolver, OutputPolicy output = {});
  ~PythonExecutor();
  PythonExecutor(const PythonExecutor&) = delete;
  PythonExecutor& operator=(const PythonExecutor&) = delete;

  // Runs in.func of the already resolved script. `start` is when the task
  // began (its deadline counts from there). Never throws.
  TaskOutput run(const TaskInput& in, const ResolvedScript& script, Clock::time_point start);

  // Any thread, no GIL, never blocks on Python.
  void request_clear(std::optional<std::string> script);

  // Stops the watchdog thread; later timeouts only apply after the fact.
  // Call without the GIL.
  void shutdown();

  // Module loads attempted so far (tests, status).
  uint64_t load_count() const;

  // Implementation detail: the Python state lives in a type derived from this
  // one, defined in the .cpp. The indirection keeps pybind11's hidden
  // visibility (py_visibility.h) from spreading to the classes that hold a
  // PythonExecutor.
  struct PyStateBase {
    virtual ~PyStateBase() = default;
  };

 private:
  OutputPolicy output_;
  std::unique_ptr<PyStateBase> py_;  // created and destroyed under the GIL
  std::unique_ptr<TimeoutWatchdog> watchdog_;
};

}  // namespace zfleet::worker
