#include "worker/exec/module_cache.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "worker/exec/exec_log.h"
#include "worker/exec/gil.h"
#include "worker/exec/script_file.h"

namespace zfleet::worker {

using common::TaskErrorCode;

struct ModuleCache::Entry {
  uint64_t id = 0;
  std::string module_name;
  std::string script;         // submitted name that created the entry, for clear by name
  py::object module;          // last good load; null until the first success
  FileStamp module_stamp;
  bool has_failure = false;   // the file at failed_stamp failed to load (or was declined)
  FileStamp failed_stamp;
  common::TaskError failed_error;
  bool loading = false;
  bool settling = false;      // a task waits for an edited file to be quiet
  FileStamp warned_stamp;     // the last stamp "still running the old module" was logged for
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

}  // namespace

ModuleCache::ModuleCache(const ScriptResolver& resolver, const PyErrorFormatter& errors,
                         PyObject* interrupt_type)
    : resolver_(resolver), loader_(errors, interrupt_type) {}

ModuleCache::~ModuleCache() = default;

ModuleCache::Entry& ModuleCache::entry_locked(const std::string& path, std::string_view submitted) {
  auto& slot = entries_[path];
  if (!slot) {
    slot = std::make_unique<Entry>();
    slot->id = next_entry_id_++;
    slot->module_name = module_name_for(path);
    slot->script = std::string(submitted);
  }
  return *slot;
}

ModuleCache::Entry* ModuleCache::find_locked(const std::string& path, uint64_t id) {
  auto it = entries_.find(path);
  return it != entries_.end() && it->second->id == id ? it->second.get() : nullptr;
}

ModuleCache::Lookup ModuleCache::get(const ResolvedScript& resolved, std::string_view submitted,
                                     std::optional<Clock::time_point> deadline) {
  if (clear_pending_.load(std::memory_order_acquire)) apply_pending_clears();
  ResolvedScript script = resolved;
  bool settled = false;  // waited for this edit already: load what is there now
  for (;;) {
    std::unique_lock lock(mu_);
    Entry& e = entry_locked(script.path, submitted);
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
    // An edit in progress: one task waits for it to settle, the others run
    // the module they had meanwhile.
    if (e.module && e.settling) return {e.module, {}, false};
    if (e.module && !settled && !quiet(script.stamp, wall_now_ns())) {
      const uint64_t id = e.id;
      e.settling = true;
      lock.unlock();
      std::optional<Lookup> kept = settle(script, id, deadline);
      if (kept) return std::move(*kept);
      settled = true;
      continue;  // quiet now, at script.stamp: load it (unless another task did)
    }
    e.loading = true;
    const uint64_t id = e.id;
    const std::string name = e.module_name;
    py::object previous = e.module;
    lock.unlock();
    return load(script, id, name, previous);  // always clears `loading`
  }
}

std::optional<ModuleCache::Lookup> ModuleCache::settle(ResolvedScript& script, uint64_t id,
                                                       std::optional<Clock::time_point> deadline) {
  auto limit = kSettleLimit;
  if (deadline) {
    limit = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()),
                       std::chrono::milliseconds(0), kSettleLimit);
  }
  Settled settled;
  {
    GilRelease no_gil;
    settled = wait_until_quiet(script.path, script.stamp, limit);
  }
  std::lock_guard lock(mu_);
  Entry* e = find_locked(script.path, id);
  if (!e) return std::nullopt;  // cleared meanwhile: start over
  e->settling = false;
  if (settled.quiet) {
    script.stamp = settled.stamp;
    return std::nullopt;
  }
  if (!(e->warned_stamp == settled.stamp)) {
    e->warned_stamp = settled.stamp;
    exec_logger()->warn("task script {} is still being changed after {} ms: running the module "
                        "loaded before; it is loaded again once the file is quiet",
                        script.path, limit.count());
  }
  return Lookup{e->module, {}, false};
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

ModuleCache::Lookup ModuleCache::load(const ResolvedScript& script, uint64_t id,
                                      const std::string& name, const py::object& previous) {
  loads_.fetch_add(1, std::memory_order_relaxed);
  ModuleLoader::Result result;
  try {
    result = loader_.load(name, script.path, previous, script.stamp);
  } catch (const std::exception& ex) {  // bad_alloc, a pybind11 wrapper failing
    PyErr_Clear();
    result = ModuleLoader::Result();
    result.error = {TaskErrorCode::script_error, ex.what(), "InternalError", {}};
    result.stamp = script.stamp;
  }
  return finish_load(script.path, id, std::move(result), previous);
}

ModuleCache::Lookup ModuleCache::finish_load(const std::string& path, uint64_t entry_id,
                                             ModuleLoader::Result result, const py::object& previous) {
  py::object replaced;  // decref'd after mu_ is released
  bool warn = !result.module && !result.interrupted;
  {
    std::lock_guard lock(mu_);
    // A clear while loading dropped the entry: this task still uses what it
    // loaded, but nothing is cached.
    if (Entry* e = find_locked(path, entry_id)) {
      e->loading = false;
      if (result.module) {
        replaced = std::move(e->module);
        e->module = result.module;
        e->module_stamp = result.stamp;
        e->has_failure = false;
      } else if (!result.interrupted && !result.transient) {
        e->has_failure = true;
        e->failed_stamp = result.stamp;
        e->failed_error = result.error;
      }
      if (result.declined) {
        warn = !(e->warned_stamp == result.stamp);  // once per version of the file
        e->warned_stamp = result.stamp;
      }
    }
  }
  loaded_.notify_all();
  if (result.module) {
    exec_logger()->info("loaded task script {}", path);
  } else if (result.declined) {
    if (warn) {
      exec_logger()->warn("task script {} not loaded: {}; still running the module loaded before, "
                          "until the file changes again", path, result.error.message);
    }
    return {previous, {}, false};
  } else if (warn) {
    exec_logger()->warn("task script {} failed to load: {}: {}", path, result.error.type,
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
