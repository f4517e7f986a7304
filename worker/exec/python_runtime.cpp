#include "worker/exec/python_runtime.h"

#include <pybind11/embed.h>

#include <stdexcept>

#include "worker/exec/exec_log.h"
#include "worker/exec/py_visibility.h"

namespace py = pybind11;

namespace zfleet::worker {
namespace {

template <class Guard>
struct ZFLEET_PY_HIDDEN Held final : PythonRuntime::StateBase {
  template <class... Args>
  explicit Held(Args&&... args) : guard(std::forward<Args>(args)...) {}
  Guard guard;
};

}  // namespace

PythonRuntime::PythonRuntime(const std::vector<std::string>& script_roots) {
  if (Py_IsInitialized()) throw std::runtime_error("a Python interpreter is already running");
  std::string failure;
  try {
    // No Python signal handlers: the main thread never runs Python after
    // start-up, so a Python SIGINT handler would swallow the signal.
    interpreter_ = std::make_unique<Held<py::scoped_interpreter>>(false, 0, nullptr, false);
    py::module_ sys = py::module_::import("sys");
    // Tasks are reloaded on every edit; .pyc files keyed on whole-second
    // mtimes could hand back stale code, so never write them.
    sys.attr("dont_write_bytecode") = true;
    py::list path = sys.attr("path");
    for (const auto& root : script_roots) path.append(root);
    // Imported once here so no task pays for it.
    py::module_::import("importlib.util");
    py::module_::import("traceback");
  } catch (const std::exception& e) {
    failure = e.what();  // copy: `e` may hold Python objects that must die before Py_Finalize
  }
  if (!failure.empty()) {
    interpreter_.reset();
    throw std::runtime_error("cannot start the Python interpreter: " + failure);
  }
  exec_logger()->debug("python {} embedded, {} script root(s)", Py_GetVersion(), script_roots.size());
  released_ = std::make_unique<Held<py::gil_scoped_release>>();
}

PythonRuntime::~PythonRuntime() {
  released_.reset();     // take the GIL back in the main thread
  interpreter_.reset();  // Py_Finalize
}

}  // namespace zfleet::worker
