// msgpack <-> Python conversion in C++ (walking msgpack::object one way,
// msgpack::packer the other), for task args/kwargs and return values.
//
//   msgpack -> Python: nil None, bool, int, float, str (strict UTF-8), bin
//     bytes, array list, map dict (scalar keys; array/map keys rejected).
//     ext rejected. Input is untrusted: checked by msgpack_check first.
//   Python -> msgpack: None, bool (tested before int), int in
//     [-2^63, 2^64-1], float, str, bytes/bytearray/memoryview -> bin,
//     list/tuple -> array, dict with str keys -> map. Anything else fails
//     with a message naming the offending Python type.
//   Containers nest at most kMaxMsgpackDepth deep either way (this also stops
//   self-referencing lists).
//
// Thread safety: every function needs the GIL; results hold Python
// references and must be destroyed under the GIL. No shared state.
#pragma once

#include <Python.h>
#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "worker/exec/py_error.h"

namespace zfleet::worker {

namespace py = pybind11;

// A decoded value, or why decoding failed (value is then null).
struct ZFLEET_PY_HIDDEN PyDecoded {
  py::object value;
  std::string error;
  bool ok() const { return error.empty(); }
};

// One msgpack value -> Python object.
PyDecoded msgpack_to_python(std::string_view bytes);

// Task args: a msgpack array -> tuple. Empty bytes or nil mean ().
PyDecoded decode_args(std::string_view bytes);

// Task kwargs: a msgpack map with str keys -> dict. Empty bytes or nil mean
// none: value stays null (PyObject_Call takes NULL for no kwargs).
PyDecoded decode_kwargs(std::string_view bytes);

// Appends the msgpack encoding of `obj` to `out`. Returns "" on success, else
// the reason (naming the Python type); `out` is then unspecified. Runs no
// Python code, so the GIL is held throughout.
std::string python_to_msgpack(PyObject* obj, std::string& out);

}  // namespace zfleet::worker
