#include "worker/exec/task_runner.h"

#include <Python.h>

#include "worker/exec/builtins.h"

namespace zfleet::worker {

using common::TaskErrorCode;

TaskRunner::TaskRunner(std::vector<std::string> script_roots, OutputPolicy output)
    : resolver_(std::move(script_roots)) {
  if (Py_IsInitialized()) python_ = std::make_unique<PythonExecutor>(resolver_, output);
}

TaskRunner::~TaskRunner() {
  shutdown();
  python_.reset();
}

void TaskRunner::shutdown() {
  if (python_) python_->shutdown();
}

void TaskRunner::request_clear(std::optional<std::string> script) {
  if (python_) python_->request_clear(std::move(script));
}

TaskOutput TaskRunner::run(const TaskInput& in) noexcept {
  try {
    const auto start = PythonExecutor::Clock::now();
    if (is_builtin(in.script)) return run_builtin(in);
    Resolution resolved = resolver_.resolve(in.script);  // before the GIL: filesystem only
    if (!resolved.script) return TaskOutput::failure(std::move(resolved.error));
    if (!python_) {
      return TaskOutput::failure(TaskErrorCode::script_error,
                                 "no Python interpreter in this worker", "RuntimeError");
    }
    return python_->run(in, *resolved.script, start);
  } catch (const std::exception& e) {
    try {
      return TaskOutput::failure(TaskErrorCode::exception, e.what(), "InternalError");
    } catch (...) {
    }
  } catch (...) {
  }
  TaskOutput out;  // out of memory even for the message
  out.error.code = TaskErrorCode::exception;
  return out;
}

}  // namespace zfleet::worker
