#include "worker/exec/output_capture.h"

#include <Python.h>
#include <pybind11/pybind11.h>
#include <pybind11/eval.h>

#include <memory>

#include "worker/exec/exec_log.h"
#include "worker/exec/py_visibility.h"

namespace py = pybind11;

namespace zfleet::worker {
namespace {

thread_local TaskOutputScope* t_current = nullptr;

constexpr const char* kStreamNames[2] = {"stdout", "stderr"};

// The Python side: a text stream whose write() hands str to C++. fileno()
// answers the real descriptor (subprocess and faulthandler want one; what
// goes there bypasses the capture); close() is ignored, so one task closing
// sys.stdout does not take it from the others.
constexpr const char* kStreamSource = R"(
import io

class TaskStream(io.TextIOBase):
    """sys.stdout / sys.stderr of a zfleet worker: lines go to the worker's
    log, tagged with the task that wrote them (and to its result when the
    task asked for its output)."""

    def __init__(self, write, flush, name, fd):
        self._write = write
        self._flush = flush
        self._name = name
        self._fd = fd

    name = property(lambda self: self._name)
    encoding = property(lambda self: "utf-8")
    errors = property(lambda self: "backslashreplace")
    line_buffering = property(lambda self: True)

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not " + type(s).__name__)
        self._write(s)
        return len(s)

    def flush(self):
        self._flush()

    def close(self):
        pass
)";

// Writes from threads running no task, line-buffered per stream. Guarded by
// the GIL (only Python calls reach it).
struct ZFLEET_PY_HIDDEN Untagged {
  LineSplitter lines[2];

  void write(int stream, std::string_view text) {
    lines[stream].append(text, [stream](std::string_view line) { log(stream, line); });
  }
  void flush(int stream) {
    lines[stream].flush([stream](std::string_view line) { log(stream, line); });
  }
  static void log(int stream, std::string_view line) {
    exec_logger()->info("{} (no task): {}", kStreamNames[stream], escape_controls(line));
  }
};

// The UTF-8 bytes of a str; lone surrogates become backslash escapes.
// `keep` owns them when a copy was needed. Throws on a non-str.
std::string_view utf8_of(py::handle text, py::object& keep) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data) return {data, static_cast<std::size_t>(size)};
  PyErr_Clear();
  keep = py::reinterpret_steal<py::object>(
      PyUnicode_AsEncodedString(text.ptr(), "utf-8", "backslashreplace"));
  if (!keep) throw py::error_already_set();
  return {PyBytes_AS_STRING(keep.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(keep.ptr()))};
}

int python_level(const std::string& level) {
  if (level == "trace" || level == "debug") return 10;
  if (level == "info") return 20;
  if (level == "warn" || level == "warning") return 30;
  if (level == "error") return 40;
  return 50;  // critical, off
}

}  // namespace

void install_output_capture(const std::string& log_level) {
  auto untagged = std::make_shared<Untagged>();
  py::dict ns;
  ns["__builtins__"] = py::reinterpret_borrow<py::object>(PyEval_GetBuiltins());
  ns["__name__"] = "zfleet_output";
  py::exec(kStreamSource, ns);
  py::object stream_type = ns["TaskStream"];
  py::module_ sys = py::module_::import("sys");
  for (int stream : {TaskOutputScope::kStdout, TaskOutputScope::kStderr}) {
    py::cpp_function write([untagged, stream](py::handle text) {
      py::object keep;
      std::string_view bytes = utf8_of(text, keep);
      if (TaskOutputScope* scope = TaskOutputScope::current()) {
        scope->write(stream, bytes);
      } else {
        untagged->write(stream, bytes);
      }
    });
    // A task's unfinished line waits for the task's end; elsewhere flush()
    // is the only sign that a line without "\n" is complete.
    py::cpp_function flush([untagged, stream]() {
      if (!TaskOutputScope::current()) untagged->flush(stream);
    });
    sys.attr(kStreamNames[stream]) =
        stream_type(write, flush, std::string("<") + kStreamNames[stream] + ">", stream + 1);
  }
  py::dict config;
  config["level"] = python_level(log_level);
  config["stream"] = sys.attr("stderr");
  config["format"] = "%(levelname)s:%(name)s:%(message)s";
  py::module_::import("logging").attr("basicConfig")(**config);
}

TaskOutputScope::TaskOutputScope(std::string_view task_id, bool keep, uint64_t max_bytes)
    : id_(task_id), keep_(keep), kept_(keep ? max_bytes : 0), previous_(t_current) {
  t_current = this;
}

TaskOutputScope::~TaskOutputScope() {
  if (!finished_) finish();
  t_current = previous_;
}

TaskOutputScope* TaskOutputScope::current() { return t_current; }

void TaskOutputScope::write(int stream, std::string_view text) {
  if (keep_) kept_.append(text);
  lines_[stream].append(text, [this, stream](std::string_view line) { log_line(stream, line); });
}

std::string TaskOutputScope::finish() {
  finished_ = true;
  for (int stream : {kStdout, kStderr}) {
    lines_[stream].flush([this, stream](std::string_view line) { log_line(stream, line); });
  }
  return keep_ ? kept_.finish() : std::string();
}

void TaskOutputScope::log_line(int stream, std::string_view line) const {
  exec_logger()->info("{} {}: {}", common::task_ref(id_), kStreamNames[stream], escape_controls(line));
}

}  // namespace zfleet::worker
