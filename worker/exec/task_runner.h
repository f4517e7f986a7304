// TaskRunner: the entry point a worker's pool threads call to run one task.
// Builtins ("builtin:...") run natively without the GIL (builtins.h); any
// other script is resolved under the script roots (script_path.h) and run by
// the PythonExecutor (python_executor.h, which states the GIL rules).
//
// Contract: run() never throws; every failure comes back as a TaskError
// (PROTOCOL.md "Task execution and task errors"). When in.cancel is raised
// during run(), builtins and Python calls stop early with `cancelled`
// (task_io.h, python_executor.h). request_clear() is the
// clear_cache op: called from the I/O thread, it needs no GIL and never
// blocks on Python, and takes effect before the next task loads a module
// (see module_cache.h for how names match). shutdown() stops the timeout
// watchdog; call it (or destroy the runner) after the pool is joined and
// before the PythonRuntime goes away, without holding the GIL.
//
// Thread safety: run() is called concurrently from N pool threads;
// request_clear() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/exec/python_executor.h"
#include "worker/exec/script_path.h"
#include "worker/exec/task_io.h"

namespace zfleet::worker {

class TaskRunner {
 public:
  // `script_roots`: absolute directories, searched in order. When no Python
  // interpreter is running only builtins can run (Python tasks fail with
  // script_error).
  explicit TaskRunner(std::vector<std::string> script_roots, OutputPolicy output = {});
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  TaskOutput run(const TaskInput& in) noexcept;
  void request_clear(std::optional<std::string> script);
  void shutdown();

  const ScriptResolver& resolver() const { return resolver_; }
  uint64_t module_loads() const { return python_ ? python_->load_count() : 0; }

 private:
  ScriptResolver resolver_;
  std::unique_ptr<PythonExecutor> python_;
};

}  // namespace zfleet::worker
