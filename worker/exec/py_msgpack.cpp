#include "worker/exec/py_msgpack.h"

#include <limits>

#include "common/msgpack_io.h"
#include "worker/exec/msgpack_check.h"
#include "worker/exec/py_error.h"

namespace zfleet::worker {
namespace {

constexpr std::string_view kNil = "\xc0";
constexpr uint64_t kMaxContainer = std::numeric_limits<uint32_t>::max();

// ---- msgpack -> Python ---------------------------------------------------

// Returns a new reference, or nullptr with `err` set (no Python error left).
PyObject* to_python(const msgpack::object& o, std::string& err);

PyObject* array_to_list(const msgpack::object& o, std::string& err) {
  PyObject* list = PyList_New(o.via.array.size);
  if (list == nullptr) return nullptr;
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    PyObject* item = to_python(o.via.array.ptr[i], err);
    if (item == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, i, item);
  }
  return list;
}

const char* key_problem(const msgpack::object& key, bool str_keys_only) {
  if (key.type == msgpack::type::ARRAY) return "map key of type array is not supported";
  if (key.type == msgpack::type::MAP) return "map key of type map is not supported";
  if (str_keys_only && key.type != msgpack::type::STR) return "keyword argument names must be str";
  return nullptr;
}

PyObject* map_to_dict(const msgpack::object& o, bool str_keys_only, std::string& err) {
  PyObject* dict = PyDict_New();
  if (dict == nullptr) return nullptr;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const msgpack::object_kv& kv = o.via.map.ptr[i];
    if (const char* problem = key_problem(kv.key, str_keys_only)) {
      err = problem;
      Py_DECREF(dict);
      return nullptr;
    }
    PyObject* key = to_python(kv.key, err);
    PyObject* value = key ? to_python(kv.val, err) : nullptr;
    const bool ok = value != nullptr && PyDict_SetItem(dict, key, value) == 0;
    Py_XDECREF(key);
    Py_XDECREF(value);
    if (!ok) {
      PyErr_Clear();
      Py_DECREF(dict);
      return nullptr;
    }
  }
  return dict;
}

PyObject* to_python(const msgpack::object& o, std::string& err) {
  PyObject* out = nullptr;
  switch (o.type) {
    case msgpack::type::NIL: Py_RETURN_NONE;
    case msgpack::type::BOOLEAN: return PyBool_FromLong(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER: out = PyLong_FromUnsignedLongLong(o.via.u64); break;
    case msgpack::type::NEGATIVE_INTEGER: out = PyLong_FromLongLong(o.via.i64); break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out = PyFloat_FromDouble(o.via.f64); break;
    case msgpack::type::STR:
      out = PyUnicode_DecodeUTF8(o.via.str.ptr, o.via.str.size, "strict");
      if (out == nullptr) err = "msgpack str is not valid UTF-8";
      break;
    case msgpack::type::BIN: out = PyBytes_FromStringAndSize(o.via.bin.ptr, o.via.bin.size); break;
    case msgpack::type::ARRAY: return array_to_list(o, err);
    case msgpack::type::MAP: return map_to_dict(o, false, err);
    default: err = "msgpack ext types are not supported"; return nullptr;
  }
  if (out == nullptr) {
    PyErr_Clear();
    if (err.empty()) err = "out of memory decoding msgpack";
  }
  return out;
}

bool absent(std::string_view bytes) { return bytes.empty() || bytes == kNil; }

// Takes ownership of `obj`; a null without a reason means Python ran out of memory.
void settle(PyDecoded& out, PyObject* obj) {
  if (obj != nullptr) {
    out.value = py::reinterpret_steal<py::object>(obj);
  } else {
    PyErr_Clear();
    if (out.error.empty()) out.error = "out of memory decoding msgpack";
  }
}

// ---- Python -> msgpack ---------------------------------------------------

class Packer {
 public:
  explicit Packer(std::string& out) : sink_{out}, pk_(sink_) {}

  bool pack(PyObject* obj, uint32_t depth);
  std::string& error() { return err_; }

 private:
  bool fail(std::string why) {
    err_ = std::move(why);
    return false;
  }
  bool pack_int(PyObject* obj);
  bool pack_str(PyObject* obj);
  bool pack_bin(const char* data, Py_ssize_t size);
  bool pack_buffer(PyObject* obj);
  bool pack_sequence(PyObject* obj, uint32_t depth);
  bool pack_dict(PyObject* obj, uint32_t depth);

  common::StringSink sink_;
  msgpack::packer<common::StringSink> pk_;
  std::string err_;
};

bool Packer::pack(PyObject* obj, uint32_t depth) {
  if (obj == Py_None) {
    pk_.pack_nil();
    return true;
  }
  if (PyBool_Check(obj)) {  // before int: bool is a subclass of int
    obj == Py_True ? pk_.pack_true() : pk_.pack_false();
    return true;
  }
  if (PyLong_Check(obj)) return pack_int(obj);
  if (PyFloat_Check(obj)) {
    common::append_float64(sink_.s, PyFloat_AS_DOUBLE(obj));  // never as an int
    return true;
  }
  if (PyUnicode_Check(obj)) return pack_str(obj);
  if (PyBytes_Check(obj)) return pack_bin(PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj));
  if (PyByteArray_Check(obj)) {
    return pack_bin(PyByteArray_AS_STRING(obj), PyByteArray_GET_SIZE(obj));
  }
  if (PyMemoryView_Check(obj)) return pack_buffer(obj);
  if (PyList_Check(obj) || PyTuple_Check(obj) || PyDict_Check(obj)) {
    if (depth >= kMaxMsgpackDepth) {
      return fail("value nested deeper than " + std::to_string(kMaxMsgpackDepth) + " levels (" +
                  type_name_of(obj) + ")");
    }
    return PyDict_Check(obj) ? pack_dict(obj, depth + 1) : pack_sequence(obj, depth + 1);
  }
  return fail("object of type '" + type_name_of(obj) + "' is not msgpack-serializable");
}

bool Packer::pack_int(PyObject* obj) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
  if (overflow == 0 && !(v == -1 && PyErr_Occurred())) {
    pk_.pack_int64(v);  // shortest encoding; non-negative values as uint formats
    return true;
  }
  if (overflow > 0) {
    const unsigned long long u = PyLong_AsUnsignedLongLong(obj);
    if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) {
      pk_.pack_uint64(u);
      return true;
    }
  }
  PyErr_Clear();
  return fail("int of type '" + type_name_of(obj) + "' is out of the msgpack range [-2^63, 2^64-1]");
}

bool Packer::pack_str(PyObject* obj) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(obj, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return fail("str of type '" + type_name_of(obj) + "' cannot be encoded as UTF-8");
  }
  if (static_cast<uint64_t>(size) > kMaxContainer) return fail("str too long for msgpack");
  pk_.pack_str(static_cast<uint32_t>(size));
  pk_.pack_str_body(data, static_cast<uint32_t>(size));
  return true;
}

bool Packer::pack_bin(const char* data, Py_ssize_t size) {
  if (static_cast<uint64_t>(size) > kMaxContainer) return fail("bytes too long for msgpack");
  pk_.pack_bin(static_cast<uint32_t>(size));
  pk_.pack_bin_body(data, static_cast<uint32_t>(size));
  return true;
}

bool Packer::pack_buffer(PyObject* obj) {
  Py_buffer view;
  if (PyObject_GetBuffer(obj, &view, PyBUF_CONTIG_RO) != 0) {
    PyErr_Clear();
    return fail("non-contiguous memoryview is not msgpack-serializable");
  }
  const bool ok = pack_bin(static_cast<const char*>(view.buf), view.len);
  PyBuffer_Release(&view);
  return ok;
}

bool Packer::pack_sequence(PyObject* obj, uint32_t depth) {
  const bool list = PyList_Check(obj);
  const Py_ssize_t n = list ? PyList_GET_SIZE(obj) : PyTuple_GET_SIZE(obj);
  if (static_cast<uint64_t>(n) > kMaxContainer) return fail("sequence too long for msgpack");
  pk_.pack_array(static_cast<uint32_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!pack(list ? PyList_GET_ITEM(obj, i) : PyTuple_GET_ITEM(obj, i), depth)) return false;
  }
  return true;
}

bool Packer::pack_dict(PyObject* obj, uint32_t depth) {
  const Py_ssize_t n = PyDict_GET_SIZE(obj);
  if (static_cast<uint64_t>(n) > kMaxContainer) return fail("dict too large for msgpack");
  pk_.pack_map(static_cast<uint32_t>(n));
  Py_ssize_t pos = 0;
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  while (PyDict_Next(obj, &pos, &key, &value)) {
    if (!PyUnicode_Check(key)) {
      return fail("dict key of type '" + type_name_of(key) + "' is not str");
    }
    if (!pack_str(key) || !pack(value, depth)) return false;
  }
  return true;
}

}  // namespace

PyDecoded msgpack_to_python(std::string_view bytes) {
  PyDecoded out;
  auto handle = decode_untrusted(bytes, kMaxMsgpackDepth);
  if (!handle) {
    out.error = handle.error();
    return out;
  }
  settle(out, to_python(handle->get(), out.error));
  return out;
}

PyDecoded decode_args(std::string_view bytes) {
  PyDecoded out;
  if (absent(bytes)) {
    settle(out, PyTuple_New(0));
    return out;
  }
  // One extra level: the args array itself does not count against a value.
  auto handle = decode_untrusted(bytes, kMaxMsgpackDepth + 1);
  if (!handle) {
    out.error = handle.error();
    return out;
  }
  const msgpack::object& o = handle->get();
  if (o.type != msgpack::type::ARRAY) {
    out.error = "args must be a msgpack array";
    return out;
  }
  PyObject* list = array_to_list(o, out.error);
  settle(out, list ? PyList_AsTuple(list) : nullptr);
  Py_XDECREF(list);
  return out;
}

PyDecoded decode_kwargs(std::string_view bytes) {
  PyDecoded out;
  if (absent(bytes)) return out;
  auto handle = decode_untrusted(bytes, kMaxMsgpackDepth + 1);
  if (!handle) {
    out.error = handle.error();
    return out;
  }
  const msgpack::object& o = handle->get();
  if (o.type != msgpack::type::MAP) {
    out.error = "kwargs must be a msgpack map";
    return out;
  }
  settle(out, map_to_dict(o, true, out.error));
  return out;
}

std::string python_to_msgpack(PyObject* obj, std::string& out) {
  Packer packer(out);
  if (packer.pack(obj, 0)) return {};
  return std::move(packer.error());
}

}  // namespace zfleet::worker
