// ModuleLoader: turns one task script file into a NEW module object (its
// own name per path, registered in sys.modules under that name):
// importlib.util.spec_from_file_location + module_from_spec, then the
// source is compiled with compile() and executed in the module's
// namespace. That is what the loader's exec_module does, minus its .pyc
// lookup: a .pyc written by anyone else records the source mtime in whole
// seconds and could hand back stale code. importlib.reload is never used.
// ModuleCache (module_cache.h) decides when to load; this does one load.
//
// Contract of load(name, path, previous, expected):
// - The file is read ONCE (script_file.h: one open, fstat before and after)
//   and compiled from those bytes; Result::stamp is the stamp of what was
//   read.
// - With a `previous` (good) module, content that is not a finished edit
//   is declined (Result::declined, error says why) instead of loaded over
//   it: the file changed while being read or since it was found quiet
//   (`expected`) (transient), it is empty, or it does not compile
//   (SyntaxError, or NUL bytes) while it is not yet quiet (script_file.h).
//   The caller keeps running `previous`. A quiet file that does not
//   compile is a finished but broken edit: loaded (and failed) as below.
// - Otherwise: a load that raises (SyntaxError, ImportError, anything)
//   returns the error (script_error; type, message, traceback) and puts
//   `previous` (or nothing) back into sys.modules; one cut by the
//   watchdog's exception (interrupt_type) says so (interrupted, code
//   timeout). Without a previous module, Result::transient marks a failure
//   of a file that may still be being written (changed while read, or not
//   quiet): not to be remembered for its stamp.
//
// Thread safety: load() with the GIL held, from any thread (it releases the
// GIL only to read the file); construct and destroy with the GIL held.
#pragma once

#include <Python.h>
#include <pybind11/pybind11.h>

#include <string>

#include "common/protocol.h"
#include "worker/exec/py_error.h"
#include "worker/exec/script_path.h"

namespace zfleet::worker {

namespace py = pybind11;

class ZFLEET_PY_HIDDEN ModuleLoader {
 public:
  struct Result {
    py::object module;         // loaded; null otherwise
    common::TaskError error;   // when !module
    bool interrupted = false;  // cut by the watchdog's exception
    bool declined = false;     // not loaded over `previous` (see above)
    bool transient = false;    // what was read may still be changing: do not remember
    FileStamp stamp;           // of the content read
  };

  // `errors` must outlive the loader; `interrupt_type` as in ModuleCache.
  ModuleLoader(const PyErrorFormatter& errors, PyObject* interrupt_type);

  Result load(const std::string& name, const std::string& path, const py::object& previous,
              const FileStamp& expected);

 private:
  Result compile_and_run(const std::string& name, const std::string& path,
                         const std::string& source, const py::object& previous, bool settled);
  Result execute(const std::string& name, PyObject* path, PyObject* code,
                 const py::object& previous);
  Result fail(const std::string& name, const py::object& previous);

  const PyErrorFormatter& errors_;
  PyObject* interrupt_type_;
  py::object compile_;
  py::object spec_from_file_location_;
  py::object module_from_spec_;
  py::object exec_mode_;  // "exec"
};

}  // namespace zfleet::worker
