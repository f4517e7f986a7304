#include "worker/exec/module_loader.h"

#include "worker/exec/fork_guard.h"
#include "worker/exec/gil.h"
#include "worker/exec/script_file.h"

namespace zfleet::worker {

using common::TaskErrorCode;

namespace {

ModuleLoader::Result declined(std::string why, bool transient, const FileStamp& stamp) {
  ModuleLoader::Result r;
  r.declined = true;
  r.transient = transient;
  r.stamp = stamp;
  r.error = {TaskErrorCode::script_error, std::move(why), "", ""};
  return r;
}

}  // namespace

ModuleLoader::ModuleLoader(const PyErrorFormatter& errors, PyObject* interrupt_type)
    : errors_(errors), interrupt_type_(interrupt_type) {
  py::module_ util = py::module_::import("importlib.util");
  compile_ = py::module_::import("builtins").attr("compile");
  spec_from_file_location_ = util.attr("spec_from_file_location");
  module_from_spec_ = util.attr("module_from_spec");
  exec_mode_ = py::str("exec");
}

ModuleLoader::Result ModuleLoader::load(const std::string& name, const std::string& path,
                                        const py::object& previous, const FileStamp& expected) {
  ScriptSnapshot snap;
  {
    GilRelease no_gil;
    snap = read_script(path);
  }
  if (!snap.ok) {
    Result r;
    r.error = {TaskErrorCode::script_error, "cannot read " + path + ": " + snap.error, "OSError", {}};
    r.transient = true;  // gone or unreadable for a moment: try again next time
    return r;
  }
  const bool changing = snap.changed_while_reading || !(snap.stamp == expected);
  if (previous) {
    if (changing) return declined("it changed while being read", true, snap.stamp);
    if (snap.bytes.empty()) return declined("it is empty", false, snap.stamp);
  }
  const bool settled = !changing && quiet(snap.stamp, wall_now_ns());
  Result r = compile_and_run(name, path, snap.bytes, previous, settled);
  r.stamp = snap.stamp;
  if (!previous && !r.module) r.transient = !settled;
  return r;
}

ModuleLoader::Result ModuleLoader::compile_and_run(const std::string& name, const std::string& path,
                                                   const std::string& source,
                                                   const py::object& previous, bool settled) {
  py::object path_obj = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeFSDefaultAndSize(path.data(), static_cast<Py_ssize_t>(path.size())));
  py::object bytes = py::reinterpret_steal<py::object>(
      PyBytes_FromStringAndSize(source.data(), static_cast<Py_ssize_t>(source.size())));
  if (!path_obj || !bytes) return fail(name, previous);
  // compile(source, path, "exec", flags=0, dont_inherit=True): no .pyc involved.
  py::object code = py::reinterpret_steal<py::object>(PyObject_CallFunctionObjArgs(
      compile_.ptr(), bytes.ptr(), path_obj.ptr(), exec_mode_.ptr(), py::int_(0).ptr(), Py_True,
      nullptr));
  if (!code && previous && !settled && !PyErr_ExceptionMatches(interrupt_type_)) {
    // Maybe half an edit: the good module goes on running. A settled file
    // that does not compile is a finished, broken edit: the task that
    // loads it fails with script_error (PROTOCOL.md), as below.
    Result failed = fail(name, previous);
    return declined("it does not compile: " + failed.error.type + ": " + failed.error.message,
                    false, {});
  }
  if (!code) return fail(name, previous);
  return execute(name, path_obj.ptr(), code.ptr(), previous);
}

ModuleLoader::Result ModuleLoader::execute(const std::string& name, PyObject* path, PyObject* code,
                                           const py::object& previous) {
  py::object name_obj = py::reinterpret_steal<py::object>(
      PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size())));
  if (!name_obj) return fail(name, previous);
  py::object spec = py::reinterpret_steal<py::object>(PyObject_CallFunctionObjArgs(
      spec_from_file_location_.ptr(), name_obj.ptr(), path, nullptr));
  if (!spec) return fail(name, previous);
  if (spec.is_none()) {
    Result r;
    r.error = {TaskErrorCode::script_error, "importlib found no loader for " + name, "ImportError", {}};
    return r;
  }
  py::object module = py::reinterpret_steal<py::object>(
      PyObject_CallFunctionObjArgs(module_from_spec_.ptr(), spec.ptr(), nullptr));
  if (!module) return fail(name, previous);
  // Registered before executing, as importlib does, so the module can find
  // itself (dataclasses, pickle, self-imports) while its body runs.
  if (PyDict_SetItem(PyImport_GetModuleDict(), name_obj.ptr(), module.ptr()) != 0) {
    return fail(name, previous);
  }
  PyObject* globals = PyModule_GetDict(module.ptr());  // borrowed
  if (PyDict_SetDefault(globals, py::str("__builtins__").ptr(), PyEval_GetBuiltins()) == nullptr) {
    return fail(name, previous);
  }
  py::object result = py::reinterpret_steal<py::object>(PyEval_EvalCode(code, globals, globals));
  // A module body that forked: its child must not go on into the worker (fork_guard.h).
  fork_guard::exit_if_forked_child(!result);
  if (!result) return fail(name, previous);
  Result r;
  r.module = std::move(module);
  return r;
}

ModuleLoader::Result ModuleLoader::fail(const std::string& name, const py::object& previous) {
  PyException exc = PyException::fetch();
  // Put the module that keeps running back into sys.modules (or none).
  PyObject* modules = PyImport_GetModuleDict();
  py::object name_obj = py::str(name);
  if (previous) {
    PyDict_SetItem(modules, name_obj.ptr(), previous.ptr());
  } else {
    PyDict_DelItem(modules, name_obj.ptr());
  }
  PyErr_Clear();
  Result result;
  result.interrupted = exc.matches(interrupt_type_);
  result.error = errors_.describe(exc, TaskErrorCode::script_error);
  if (result.interrupted) result.error.code = TaskErrorCode::timeout;
  return result;
}

}  // namespace zfleet::worker
