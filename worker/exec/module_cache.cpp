#include "worker/exec/module_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>

#include "worker/exec/exec_log.h"
#include "worker/exec/fork_guard.h"
#include "worker/exec/gil.h"

namespace zfleet::worker {

using common::TaskErrorCode;

struct ModuleCache::Entry {
  uint64_t id = 0;
  std::string module_name;
  std::string script;         // submitted name that created the entry, for clear by name
  py::object module;          // last good load; null until the first success
  FileStamp module_stamp;
  bool has_failure = false;   // the file at failed_stamp failed to load
  FileStamp failed_stamp;
  common::TaskError failed_error;
  bool loading = false;
};

struct ModuleCache::LoadResult {
  py::object module;
  common::TaskError error;
  bool interrupted = false;
};

namespace {

std::string module_name_for(const std::string& path) {
  std::string stem;
  const std::size_t slash = path.rfind('/');
  for (char c : path.substr(slash == std::string::npos ? 0 : slash + 1)) {
    if (c == '.') break;
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_';
    stem += word ? c : '_';
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(path));
  return "zfleet_task_" + stem + "_" + hash;
}

bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = std::strerror(errno);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    err = "read error";
    return false;
  }
  out = std::move(buf).str();
  return true;
}

}  // namespace

ModuleCache::ModuleCache(const ScriptResolver& resolver, const PyErrorFormatter& errors,
                         PyObject* interrupt_type)
    : resolver_(resolver), errors_(errors), interrupt_type_(interrupt_type) {
  py::module_ util = py::module_::import("importlib.util");
  compile_ = py::module_::import("builtins").attr("compile");
  spec_from_file_location_ = util.attr("spec_from_file_location");
  module_from_spec_ = util.attr("module_from_spec");
  exec_mode_ = py::str("exec");
}

ModuleCache::~ModuleCache() = default;

std::unique_ptr<ModuleCache::Entry> ModuleCache::new_entry(const std::string& path,
                                                           std::string_view submitted) {
  auto entry = std::make_unique<Entry>();
  entry->id = next_entry_id_++;
  entry->module_name = module_name_for(path);
  entry->script = std::string(submitted);
  return entry;
}

ModuleCache::Lookup ModuleCache::get(const ResolvedScript& script, std::string_view submitted,
                                     std::optional<Clock::time_point> deadline) {
  if (clear_pending_.load(std::memory_order_acquire)) apply_pending_clears();
  for (;;) {
    std::unique_lock lock(mu_);
    auto& slot = entries_[script.path];
    if (!slot) slot = new_entry(script.path, submitted);
    Entry& e = *slot;
    if (e.module && e.module_stamp == script.stamp) return {e.module, {}, false};
    if (e.has_failure && e.failed_stamp == script.stamp) {
      // Same broken file as last time: run the old module if there is one.
      if (e.module) return {e.module, {}, false};
      return {py::object(), e.failed_error, false};
    }
    if (e.loading) {
      lock.unlock();
      if (!wait_for_load(script.path, deadline)) {
        return {py::object(), {TaskErrorCode::timeout, "timed out waiting for " + script.path +
                                                            " to load in another thread", {}, {}},
                true};
      }
      continue;
    }
    e.loading = true;
    const uint64_t id = e.id;
    const std::string name = e.module_name;
    py::object previous = e.module;
    lock.unlock();
    LoadResult result;
    try {
      result = load(name, script.path, previous);
    } catch (const std::exception& ex) {  // bad_alloc, a pybind11 wrapper failing
      PyErr_Clear();
      result.module = py::object();
      result.error = {TaskErrorCode::script_error, ex.what(), "InternalError", {}};
    }
    return finish_load(script, id, std::move(result));  // always clears `loading`
  }
}

bool ModuleCache::wait_for_load(const std::string& path,
                                std::optional<Clock::time_point> deadline) {
  GilRelease no_gil;  // the loader may need the GIL to finish
  std::unique_lock lock(mu_);
  auto done = [&] {
    auto it = entries_.find(path);
    return it == entries_.end() || !it->second->loading;
  };
  if (!deadline) {
    loaded_.wait(lock, done);
    return true;
  }
  return loaded_.wait_until(lock, *deadline, done);
}

ModuleCache::LoadResult ModuleCache::load(const std::string& name, const std::string& path,
                                          const py::object& previous) {
  loads_.fetch_add(1, std::memory_order_relaxed);
  std::string source;
  std::string read_error;
  bool read_ok = false;
  {
    GilRelease no_gil;
    read_ok = read_file(path, source, read_error);
  }
  if (!read_ok) {
    return {py::object(), {TaskErrorCode::script_error, "cannot read " + path + ": " + read_error,
                           "OSError", {}}, false};
  }
  py::object path_obj = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeFSDefaultAndSize(path.data(), static_cast<Py_ssize_t>(path.size())));
  py::object bytes = py::reinterpret_steal<py::object>(
      PyBytes_FromStringAndSize(source.data(), static_cast<Py_ssize_t>(source.size())));
  if (!path_obj || !bytes) return fail_load(name, previous);
  // compile(source, path, "exec", flags=0, dont_inherit=True): no .pyc involved.
  py::object code = py::reinterpret_steal<py::object>(PyObject_CallFunctionObjArgs(
      compile_.ptr(), bytes.ptr(), path_obj.ptr(), exec_mode_.ptr(), py::int_(0).ptr(), Py_True,
      nullptr));
  if (!code) return fail_load(name, previous);
  return execute(name, path_obj.ptr(), code.ptr(), previous);
}

ModuleCache::LoadResult ModuleCache::execute(const std::string& name, PyObject* path,
                                             PyObject* code, const py::object& previous) {
  py::object name_obj = py::reinterpret_steal<py::object>(
      PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size())));
  if (!name_obj) return fail_load(name, previous);
  py::object spec = py::reinterpret_steal<py::object>(PyObject_CallFunctionObjArgs(
      spec_from_file_location_.ptr(), name_obj.ptr(), path, nullptr));
  if (!spec) return fail_load(name, previous);
  if (spec.is_none()) {
    return {py::object(), {TaskErrorCode::script_error, "importlib found no loader for " +
                                                            std::string(name), "ImportError", {}},
            false};
  }
  py::object module = py::reinterpret_steal<py::object>(
      PyObject_CallFunctionObjArgs(module_from_spec_.ptr(), spec.ptr(), nullptr));
  if (!module) return fail_load(name, previous);
  // Registered before executing, as importlib does, so the module can find
  // itself (dataclasses, pickle, self-imports) while its body runs.
  if (PyDict_SetItem(PyImport_GetModuleDict(), name_obj.ptr(), module.ptr()) != 0) {
    return fail_load(name, previous);
  }
  PyObject* globals = PyModule_GetDict(module.ptr());  // borrowed
  if (PyDict_SetDefault(globals, py::str("__builtins__").ptr(), PyEval_GetBuiltins()) == nullptr) {
    return fail_load(name, previous);
  }
  py::object result = py::reinterpret_steal<py::object>(PyEval_EvalCode(code, globals, globals));
  // A module body that forked: its child must not go on into the worker (fork_guard.h).
  fork_guard::exit_if_forked_child(!result);
  if (!result) return fail_load(name, previous);
  return {std::move(module), {}, false};
}

ModuleCache::LoadResult ModuleCache::fail_load(const std::string& name,
                                               const py::object& previous) {
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
  LoadResult result;
  result.interrupted = exc.matches(interrupt_type_);
  result.error = errors_.describe(exc, TaskErrorCode::script_error);
  if (result.interrupted) result.error.code = TaskErrorCode::timeout;
  return result;
}

ModuleCache::Lookup ModuleCache::finish_load(const ResolvedScript& script, uint64_t entry_id,
                                             LoadResult result) {
  py::object replaced;  // decref'd after mu_ is released
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(script.path);
    // A clear while loading dropped the entry: this task still uses what it
    // loaded, but nothing is cached.
    if (it != entries_.end() && it->second->id == entry_id) {
      Entry& e = *it->second;
      e.loading = false;
      if (result.module) {
        replaced = std::move(e.module);
        e.module = result.module;
        e.module_stamp = script.stamp;
        e.has_failure = false;
      } else if (!result.interrupted) {
        e.has_failure = true;
        e.failed_stamp = script.stamp;
        e.failed_error = result.error;
      }
    }
  }
  loaded_.notify_all();
  if (result.module) {
    exec_logger()->info("loaded task script {}", script.path);
  } else if (!result.interrupted) {
    exec_logger()->warn("task script {} failed to load: {}: {}", script.path, result.error.type,
                        result.error.message);
  }
  return {std::move(result.module), std::move(result.error), result.interrupted};
}

void ModuleCache::request_clear(std::optional<std::string> script) {
  std::string resolved;
  if (script) {
    Resolution r = resolver_.resolve(*script);  // filesystem only, no Python
    if (r.script) resolved = std::move(r.script->path);
  }
  std::lock_guard lock(clear_mu_);
  if (!script) {
    clear_all_ = true;
  } else {
    if (!resolved.empty()) clear_paths_.push_back(std::move(resolved));
    clear_scripts_.push_back(std::move(*script));
  }
  clear_pending_.store(true, std::memory_order_release);
}

void ModuleCache::apply_pending_clears() {
  bool all = false;
  std::vector<std::string> paths;
  std::vector<std::string> scripts;
  {
    std::lock_guard lock(clear_mu_);
    clear_pending_.store(false, std::memory_order_relaxed);
    all = std::exchange(clear_all_, false);
    paths.swap(clear_paths_);
    scripts.swap(clear_scripts_);
  }
  auto listed = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  std::vector<std::unique_ptr<Entry>> dropped;  // destroyed after mu_ is released
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (all || listed(paths, it->first) || listed(scripts, it->second->script)) {
        dropped.push_back(std::move(it->second));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  loaded_.notify_all();  // waiters on a dropped entry load it themselves
  PyObject* modules = PyImport_GetModuleDict();
  for (const auto& e : dropped) {
    py::object name = py::str(e->module_name);
    PyObject* current = PyDict_GetItemWithError(modules, name.ptr());  // borrowed
    if (current != nullptr && e->module && current == e->module.ptr()) {
      PyDict_DelItem(modules, name.ptr());
    }
    PyErr_Clear();
  }
  if (!dropped.empty()) exec_logger()->info("module cache: dropped {} script(s)", dropped.size());
}

}  // namespace zfleet::worker
