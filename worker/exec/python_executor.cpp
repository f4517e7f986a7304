#include "worker/exec/python_executor.h"

#include <Python.h>
#include <pybind11/pybind11.h>

#include "worker/exec/fork_guard.h"
#include "worker/exec/gil.h"
#include "worker/exec/module_cache.h"
#include "worker/exec/output_capture.h"
#include "worker/exec/py_error.h"
#include "worker/exec/py_msgpack.h"
#include "worker/exec/timeout_watchdog.h"

namespace zfleet::worker {

namespace py = pybind11;
using common::TaskErrorCode;

namespace {

// A new exception class deriving from BaseException. GIL held.
py::object new_interrupt_type(const char* name, const char* doc) {
  py::object type = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc(name, doc, PyExc_BaseException, nullptr));
  if (!type) throw py::error_already_set();
  return type;
}

// Everything that holds Python references; built and torn down under the GIL.
struct ZFLEET_PY_HIDDEN PyState final : PythonExecutor::PyStateBase {
  explicit PyState(const ScriptResolver& resolver)
      : timeout_type(new_interrupt_type("zfleet.TaskTimeout",
                                        "Raised in a task that ran past its timeout_ms.")),
        cancelled_type(new_interrupt_type("zfleet.TaskCancelled",
                                          "Raised in a task that a cancel request stopped.")),
        interrupt_types(py::make_tuple(timeout_type, cancelled_type)),
        modules(resolver, errors, interrupt_types.ptr()) {}

  // Both BaseException subclasses, so `except Exception` in task code does
  // not swallow them; distinct, so a cancel never reads as a timeout.
  py::object timeout_type;
  py::object cancelled_type;
  // (timeout_type, cancelled_type): what ModuleCache treats as a cut load.
  py::object interrupt_types;
  PyErrorFormatter errors;
  ModuleCache modules;
};

// How far a task got: an error found before the call, or the call's outcome.
struct ZFLEET_PY_HIDDEN Attempt {
  std::optional<TaskOutput> early;  // failed before the call
  bool interrupted = false;         // `early` came from a watchdog exception or the deadline
  py::object result;                // the call returned
  PyException exc;                  // the call raised
};

PyState& state(const std::unique_ptr<PythonExecutor::PyStateBase>& base) {
  return static_cast<PyState&>(*base);
}

TaskOutput timeout_output(const TaskInput& in) {
  return TaskOutput::failure(TaskErrorCode::timeout,
                             std::string(in.script) + ":" + std::string(in.func) +
                                 " exceeded its timeout of " + std::to_string(in.timeout_ms) +
                                 " ms");
}

TaskOutput cancelled_output(const TaskInput& in, std::string_view when) {
  return TaskOutput::failure(TaskErrorCode::cancelled, std::string(in.script) + ":" +
                                                           std::string(in.func) +
                                                           " was cancelled " + std::string(when));
}

// The callable named `func` in `module`, or an error.
// Only a public module-level function may be called: looked up in the
// module's own namespace (never through attribute lookup, which also finds
// __class__, __dict__ and the like), not starting with "_", and a function
// (a def, or a builtin one imported at module level), not a class or some
// other callable object.
py::object find_function(PyObject* module, std::string_view func, const TaskInput& in,
                         std::optional<TaskOutput>& error) {
  const std::string where = "'" + std::string(func) + "' in script '" + std::string(in.script) + "'";
  if (func.empty() || func.front() == '_') {
    error = TaskOutput::failure(TaskErrorCode::func_not_found,
                                where + " is private: only public module-level functions can be called");
    return py::object();
  }
  py::object name = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(func.data(), static_cast<Py_ssize_t>(func.size()), "strict"));
  PyObject* dict = PyModule_GetDict(module);  // borrowed
  py::object fn;
  if (name && dict) fn = py::reinterpret_borrow<py::object>(PyDict_GetItemWithError(dict, name.ptr()));
  PyErr_Clear();
  if (!fn) {
    error = TaskOutput::failure(TaskErrorCode::func_not_found, "no function " + where);
  } else if (!PyFunction_Check(fn.ptr()) && !PyCFunction_Check(fn.ptr())) {
    error = TaskOutput::failure(TaskErrorCode::func_not_found,
                                where + " is a " + type_name_of(fn.ptr()) + ", not a function");
    fn = py::object();
  }
  return fn;
}

Attempt attempt(PyState& py, const TaskInput& in, const ResolvedScript& script,
                std::optional<PythonExecutor::Clock::time_point> deadline) {
  Attempt out;
  ModuleCache::Lookup lookup = py.modules.get(script, in.script, deadline);
  if (!lookup.module) {
    out.early = TaskOutput::failure(std::move(lookup.error));
    out.interrupted = lookup.interrupted;
    return out;
  }
  py::object fn = find_function(lookup.module.ptr(), in.func, in, out.early);
  if (!fn) return out;
  PyDecoded args = decode_args(in.args_msgpack);
  if (!args.ok()) {
    out.early = TaskOutput::type_error("invalid args: " + args.error);
    return out;
  }
  PyDecoded kwargs = decode_kwargs(in.kwargs_msgpack);
  if (!kwargs.ok()) {
    out.early = TaskOutput::type_error("invalid kwargs: " + kwargs.error);
    return out;
  }
  out.result = py::reinterpret_steal<py::object>(
      PyObject_Call(fn.ptr(), args.value.ptr(), kwargs.value ? kwargs.value.ptr() : nullptr));
  // A child of os.fork() in the task must not go on into the worker (fork_guard.h).
  fork_guard::exit_if_forked_child(!out.result);
  if (!out.result) out.exc = PyException::fetch();
  return out;
}

// A cancel counts only when its exception actually cut the task: a call that
// returned (or failed on its own) before the exception landed keeps its
// outcome. A timeout that fired counts whatever the call did (late).
TaskOutput settle(PyState& py, const TaskInput& in, Attempt& attempt, Interrupt fired, bool late) {
  if (attempt.early) {
    if (attempt.interrupted && fired == Interrupt::cancel) {
      return cancelled_output(in, "while loading");
    }
    const bool timed_out = attempt.interrupted || fired == Interrupt::timeout;
    return timed_out ? timeout_output(in) : std::move(*attempt.early);
  }
  if (attempt.exc.matches(py.cancelled_type.ptr())) return cancelled_output(in, "while running");
  if (fired == Interrupt::timeout || attempt.exc.matches(py.timeout_type.ptr())) {
    return timeout_output(in);
  }
  if (attempt.exc) {
    if (late) return timeout_output(in);
    return TaskOutput::failure(py.errors.describe(attempt.exc, TaskErrorCode::exception));
  }
  std::string packed;
  std::string why = python_to_msgpack(attempt.result.ptr(), packed);
  if (late) return timeout_output(in);
  if (!why.empty()) {
    return TaskOutput::failure(TaskErrorCode::unserializable_result,
                               "result of " + std::string(in.script) + ":" + std::string(in.func) +
                                   " cannot be sent: " + why);
  }
  return TaskOutput::success(std::move(packed));
}

}  // namespace

PythonExecutor::PythonExecutor(const ScriptResolver& resolver, OutputPolicy output)
    : output_(output) {
  {
    GilAcquire gil;
    py_ = std::make_unique<PyState>(resolver);
  }
  watchdog_ = std::make_unique<TimeoutWatchdog>(state(py_).timeout_type.ptr(),
                                                state(py_).cancelled_type.ptr());
}

PythonExecutor::~PythonExecutor() {
  shutdown();
  GilAcquire gil;
  py_.reset();
}

void PythonExecutor::shutdown() {
  if (watchdog_) watchdog_->stop();
}

void PythonExecutor::request_clear(std::optional<std::string> script) {
  state(py_).modules.request_clear(std::move(script));
}

uint64_t PythonExecutor::load_count() const { return state(py_).modules.load_count(); }

TaskOutput PythonExecutor::run(const TaskInput& in, const ResolvedScript& script,
                               Clock::time_point start) {
  std::optional<Clock::time_point> deadline;
  if (in.timeout_ms > 0) deadline = start + std::chrono::milliseconds(in.timeout_ms);
  // Cancelled between the pop and here: do not even take the GIL.
  if (in.cancel && in.cancel->requested()) return cancelled_output(in, "before it started");
  GilAcquire gil;
  TaskOutputScope output(in.id, in.capture_output || output_.capture_all, output_.max_bytes);
  TaskOutput out;
  try {
    ArmedTimeout armed(watchdog_.get(), deadline, in.cancel);
    Attempt outcome = attempt(state(py_), in, script, deadline);
    // Disarm before any other Python code runs on this thread (formatting a
    // traceback is Python code): a late async exception must not land there.
    const Interrupt fired = armed.disarm();
    const bool late = deadline && Clock::now() > *deadline;
    out = settle(state(py_), in, outcome, fired, late);
  } catch (const std::exception& e) {  // bad_alloc, a pybind11 wrapper failing
    PyErr_Clear();
    out = TaskOutput::failure(TaskErrorCode::exception, e.what(), "InternalError");
  }
  out.output = output.finish();
  return out;
}

}  // namespace zfleet::worker
