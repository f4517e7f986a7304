#include "worker/exec/python_runtime.h"

#include <pybind11/embed.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "worker/exec/exec_log.h"
#include "worker/exec/fork_guard.h"
#include "worker/exec/output_capture.h"
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

// Ends the process with `code` unless destroyed within `limit`.
class ExitDeadline {
 public:
  ExitDeadline(std::chrono::milliseconds limit, int code)
      : thread_([this, limit, code] {
          std::unique_lock lock(mu_);
          if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
          exec_logger()->warn("Python finalization still runs after {} ms: exiting without it",
                              limit.count());
          common::stop_logging(std::chrono::seconds(1));
          std::_Exit(code);
        }) {}
  ~ExitDeadline() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  ExitDeadline(const ExitDeadline&) = delete;
  ExitDeadline& operator=(const ExitDeadline&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::thread thread_;  // last: starts once the members above exist
};

// What threading._shutdown would wait for: live non-daemon threads other
// than the main one. Looked up in sys.modules only: without `threading`
// imported, Py_Finalize waits for nothing. GIL held.
std::vector<std::string> leftover_threads() {
  std::vector<std::string> names;
  py::dict modules = py::module_::import("sys").attr("modules");
  if (!modules.contains("threading")) return names;
  py::object threading = modules["threading"];
  py::object main_thread = threading.attr("main_thread")();
  for (py::handle t : threading.attr("enumerate")()) {
    if (t.is(main_thread) || t.attr("daemon").cast<bool>()) continue;
    if (t.attr("is_alive")().cast<bool>()) names.push_back(py::str(t.attr("name")));
  }
  return names;
}

// Output that task code printed but Python still buffers. GIL held.
void flush_python_output() {
  py::module_ sys = py::module_::import("sys");
  for (const char* name : {"stdout", "stderr"}) {
    py::object stream = sys.attr(name);
    if (!stream.is_none()) stream.attr("flush")();
  }
}


// The interpreter zfleet is built against (CMake's Python3_EXECUTABLE):
// what tasks see as sys.executable outside a venv.
#ifndef ZFLEET_PYTHON_EXECUTABLE
#define ZFLEET_PYTHON_EXECUTABLE "/usr/bin/python3"
#endif
constexpr const char* kPythonProgram = ZFLEET_PYTHON_EXECUTABLE;

// pybind11's default start-up (an isolated config that still reads the
// environment), plus program_name: CPython's getpath derives
// sys.executable from it and, from the pyvenv.cfg next to or above it,
// sys.prefix and site-packages. No Python signal handlers: the main thread
// never runs Python after start-up, so a Python SIGINT handler would
// swallow the signal.
std::unique_ptr<PythonRuntime::StateBase> start_interpreter(const std::string& program) {
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.isolated = 0;
  config.use_environment = 1;
  config.install_signal_handlers = 0;
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, program.c_str());
  if (PyStatus_Exception(status)) {
    PyConfig_Clear(&config);
    throw std::runtime_error(std::string("cannot set the program name: ") +
                             (status.err_msg ? status.err_msg : "?"));
  }
  // pybind11 clears `config`, on failure too.
  return std::make_unique<Held<py::scoped_interpreter>>(&config, 0, nullptr, false);
}

// `entries` go just ahead of the first site-packages / dist-packages entry
// (the stdlib stays first, as with PYTHONPATH it would not), in order.
void insert_before_site_packages(py::list& path, const std::vector<std::string>& entries) {
  std::size_t at = path.size();
  for (std::size_t i = 0; i < path.size(); ++i) {
    std::string s = py::str(path[i]);
    if (s.ends_with("site-packages") || s.ends_with("dist-packages")) {
      at = i;
      break;
    }
  }
  for (const auto& entry : entries) {
    if (PyList_Insert(path.ptr(), static_cast<Py_ssize_t>(at++), py::str(entry).ptr()) != 0) {
      throw py::error_already_set();
    }
  }
}
}  // namespace

PythonVersion embedded_python_version() {
  return {static_cast<int>((Py_Version >> 24) & 0xff), static_cast<int>((Py_Version >> 16) & 0xff)};
}

PythonRuntime::PythonRuntime(const PythonOptions& options) {
  if (Py_IsInitialized()) throw std::runtime_error("a Python interpreter is already running");
  fork_guard::install();  // before any task code can fork
  std::string failure;
  try {
    interpreter_ = start_interpreter(options.venv.empty() ? kPythonProgram
                                                          : config::venv_python(options.venv));
    py::module_ sys = py::module_::import("sys");
    // Tasks are reloaded on every edit; .pyc files keyed on whole-second
    // mtimes could hand back stale code, so never write them.
    sys.attr("dont_write_bytecode") = true;
    py::list path = sys.attr("path");
    insert_before_site_packages(path, options.path);
    for (const auto& root : options.script_roots) path.append(root);
    // Imported once here so no task pays for it.
    py::module_::import("importlib.util");
    py::module_::import("traceback");
    install_output_capture(options.log_level);
  } catch (const std::exception& e) {
    failure = e.what();  // copy: `e` may hold Python objects that must die before Py_Finalize
  }
  if (!failure.empty()) {
    interpreter_.reset();
    throw std::runtime_error("cannot start the Python interpreter: " + failure);
  }
  exec_logger()->debug("python {} embedded as {}, {} script root(s)", Py_GetVersion(),
                       options.venv.empty() ? kPythonProgram : config::venv_python(options.venv),
                       options.script_roots.size());
  released_ = std::make_unique<Held<py::gil_scoped_release>>();
}

bool PythonRuntime::finalize(std::chrono::milliseconds limit, int exit_code) {
  if (!interpreter_) return true;
  ExitDeadline deadline(limit, exit_code);
  released_.reset();  // take the GIL back in the main thread
  std::vector<std::string> left;
  try {
    flush_python_output();
    left = leftover_threads();
  } catch (const std::exception& e) {
    exec_logger()->warn("cannot list the threads tasks left: {}", e.what());
    PyErr_Clear();
  }
  if (!left.empty()) {
    std::string names;
    for (const auto& n : left) names += (names.empty() ? "" : ", ") + n;
    exec_logger()->warn("{} thread(s) started by tasks still run ({}): exiting without waiting "
                        "for them",
                        left.size(), names);
    return false;  // GIL kept: the caller _exits
  }
  interpreter_.reset();  // Py_Finalize
  return true;
}

PythonRuntime::~PythonRuntime() {
  released_.reset();     // take the GIL back in the main thread
  interpreter_.reset();  // Py_Finalize
}

}  // namespace zfleet::worker
