// Turning the Python error indicator into a TaskError: exception class name,
// str(exception) and the formatted traceback (traceback.format_exception,
// looked up once).
//
// Thread safety: every call, and construction and destruction, need the GIL
// (the objects held here are Python objects). No other shared state.
#pragma once

#include <Python.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/protocol.h"
#include "worker/exec/py_visibility.h"

namespace zfleet::worker {

namespace py = pybind11;

// A Python exception taken off the current thread. Holds references: create,
// use and destroy under the GIL.
struct ZFLEET_PY_HIDDEN PyException {
  py::object type;
  py::object value;
  py::object traceback;

  // Takes (and clears) the current error, normalized; empty if none is set.
  static PyException fetch();
  explicit operator bool() const { return static_cast<bool>(type); }
  bool matches(PyObject* exc_type) const;
};

// str -> UTF-8; lone surrogates come out backslash-escaped. GIL held. Never
// leaves an error set.
std::string utf8_of(PyObject* str);

// Type name of `obj` for messages ("set", "datetime.datetime", "MyClass").
std::string type_name_of(PyObject* obj);

class ZFLEET_PY_HIDDEN PyErrorFormatter {
 public:
  PyErrorFormatter();  // GIL held

  // type = class name, message = str(exception), traceback = the formatted
  // exception. Tolerates a broken __str__ and formatting errors. GIL held.
  common::TaskError describe(const PyException& exc, common::TaskErrorCode code) const;

 private:
  py::object format_exception_;
};

}  // namespace zfleet::worker
