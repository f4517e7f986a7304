#include "worker/exec/py_error.h"

namespace zfleet::worker {

PyException PyException::fetch() {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  if (type == nullptr) return {};
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr && value != nullptr) PyException_SetTraceback(value, tb);
  PyException exc;
  exc.type = py::reinterpret_steal<py::object>(type);
  exc.value = py::reinterpret_steal<py::object>(value);
  exc.traceback = py::reinterpret_steal<py::object>(tb);
  return exc;
}

bool PyException::matches(PyObject* exc_type) const {
  return type && PyErr_GivenExceptionMatches(type.ptr(), exc_type);
}

std::string utf8_of(PyObject* str) {
  Py_ssize_t size = 0;
  if (const char* data = PyUnicode_AsUTF8AndSize(str, &size)) return std::string(data, size);
  PyErr_Clear();
  PyObject* bytes = PyUnicode_AsEncodedString(str, "utf-8", "backslashreplace");
  if (bytes == nullptr) {
    PyErr_Clear();
    return "<unprintable str>";
  }
  std::string out(PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
  Py_DECREF(bytes);
  return out;
}

std::string type_name_of(PyObject* obj) { return Py_TYPE(obj)->tp_name; }

PyErrorFormatter::PyErrorFormatter()
    : format_exception_(py::module_::import("traceback").attr("format_exception")) {}

common::TaskError PyErrorFormatter::describe(const PyException& exc,
                                             common::TaskErrorCode code) const {
  common::TaskError err;
  err.code = code;
  if (!exc) {
    err.message = "unknown error (no Python exception set)";
    return err;
  }
  auto* type = reinterpret_cast<PyTypeObject*>(exc.type.ptr());
  if (PyObject* name = PyType_GetName(type)) {
    err.type = utf8_of(name);
    Py_DECREF(name);
  } else {
    PyErr_Clear();
    err.type = type->tp_name;
  }
  if (PyObject* text = PyObject_Str(exc.value ? exc.value.ptr() : Py_None)) {
    err.message = utf8_of(text);
    Py_DECREF(text);
  } else {
    PyErr_Clear();
    err.message = "<exception str() failed>";
  }
  PyObject* lines = PyObject_CallFunctionObjArgs(
      format_exception_.ptr(), exc.type.ptr(), exc.value ? exc.value.ptr() : Py_None,
      exc.traceback ? exc.traceback.ptr() : Py_None, nullptr);
  if (lines == nullptr || !PyList_Check(lines)) {
    PyErr_Clear();
    Py_XDECREF(lines);
    return err;
  }
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines); ++i) {
    PyObject* line = PyList_GET_ITEM(lines, i);
    if (PyUnicode_Check(line)) err.traceback += utf8_of(line);
  }
  Py_DECREF(lines);
  return err;
}

}  // namespace zfleet::worker
