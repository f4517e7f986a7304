// ModuleCache: task scripts loaded as Python modules, keyed by resolved path,
// never running stale code (DESIGN.md decision 5), and never a half-written
// edit in place of a good module.
//
// Contract:
// - Loads are done by ModuleLoader (module_loader.h): a fresh module object
//   per load, from the file's bytes read once, never a .pyc, never
//   importlib.reload.
// - get() compares the stamp (mtime, size, ctime, inode; taken by
//   ScriptResolver just before) with the cached module's. Unchanged -> the
//   cached module. Changed -> load anew and swap in, except while the file
//   may still be being written (issue 12, point 6; script_file.h):
//   * Edited, a good module cached, and the file changed less than kSettle
//     (100 ms) ago: ONE task waits (no GIL) until the file has been quiet
//     for kSettle, for at most kSettleLimit (1 s) and never past its own
//     deadline, then loads it and runs the new version, so a task
//     submitted after an edit runs the edit. Tasks arriving meanwhile run
//     the cached module without waiting. Still changing at the limit: that
//     task runs the cached module too (warning logged once per stamp); a
//     later task tries again.
//   * The content read is checked before it replaces a good module: if it
//     changed while being read or since it was found quiet, is empty, or
//     does not compile, the good module stays and this task runs it (a
//     warning once per stamp, no task error); such a version is not tried
//     again until the file changes (a read that changed is retried at once).
//   * A module that raises while loading (ImportError, an exception in its
//     body) fails THIS task with `script_error` (type, message, traceback)
//     and leaves the old module in place and in sys.modules; the failed
//     stamp is remembered, so further calls on the same broken file run the
//     old module (or, with no old one, get the same error) without
//     retrying; the next edit is tried again.
//   * A first load (no good module) does not wait; its failure is not
//     remembered when the file may still be being written (ModuleLoader's
//     `transient`), so the next task tries again.
// - A load interrupted by the watchdog's exception (timeout or cancel) is not
//   remembered as a failure (the next task retries it); get() reports it as
//   `interrupted` (with code `timeout`; the executor tells a cancel apart).
// - Loads are single-flight per path: while one thread loads, others asking
//   for that path wait for it WITHOUT the GIL (so the loader, whose module
//   code may release and retake the GIL, can finish), then use its result.
// - request_clear(script) drops the entry whose resolved path is what
//   `script` resolves to through the roots now, and the entry first created
//   under that submitted name (so a deleted or re-rooted file is dropped too);
//   request_clear(nullopt) drops all, including remembered failures. It only
//   queues the request; the next get() applies it before looking anything up.
//   Dropped modules leave sys.modules; tasks still running them keep them
//   alive through their references.
//
// Thread safety: get() and construction/destruction need the GIL (the cache
// holds Python objects). request_clear() may be called from any thread and
// needs neither the GIL nor Python. Lock order: GIL, then mu_; nothing is
// ever decref'd while mu_ is held (a __del__ could release the GIL).
#pragma once

#include <Python.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/protocol.h"
#include "worker/exec/module_loader.h"
#include "worker/exec/py_error.h"
#include "worker/exec/script_path.h"

namespace zfleet::worker {

namespace py = pybind11;

class ZFLEET_PY_HIDDEN ModuleCache {
 public:
  using Clock = std::chrono::steady_clock;

  struct Lookup {
    py::object module;         // the module to run; null on failure
    common::TaskError error;   // when !module
    bool interrupted = false;  // load cut by `interrupt_type` or the deadline passed while waiting
  };

  // GIL held. `resolver` and `errors` must outlive the cache; `interrupt_type`
  // is the exception class, or tuple of classes, the timeout watchdog raises
  // (TaskTimeout, TaskCancelled; borrowed reference, kept alive by the caller).
  ModuleCache(const ScriptResolver& resolver, const PyErrorFormatter& errors,
              PyObject* interrupt_type);
  ~ModuleCache();  // GIL held
  ModuleCache(const ModuleCache&) = delete;
  ModuleCache& operator=(const ModuleCache&) = delete;

  // GIL held. `submitted` is the script name as the client sent it. A caller
  // with a deadline stops waiting for another thread's load at the deadline.
  Lookup get(const ResolvedScript& script, std::string_view submitted,
             std::optional<Clock::time_point> deadline = std::nullopt);

  // Any thread, no GIL. See the contract above.
  void request_clear(std::optional<std::string> script);

  uint64_t load_count() const { return loads_.load(std::memory_order_relaxed); }

 private:
  struct Entry;
  static constexpr std::chrono::milliseconds kSettleLimit{1000};

  Entry& entry_locked(const std::string& path, std::string_view submitted);  // mu_ held
  Entry* find_locked(const std::string& path, uint64_t id);                  // mu_ held
  // Waits for an edited file to be quiet. nullopt: load script (its stamp
  // updated), or start over after a clear; else the cached module to run.
  std::optional<Lookup> settle(ResolvedScript& script, uint64_t id,
                               std::optional<Clock::time_point> deadline);
  bool wait_for_load(const std::string& path, std::optional<Clock::time_point> deadline);
  Lookup load(const ResolvedScript& script, uint64_t id, const std::string& name,
              const py::object& previous);
  Lookup finish_load(const std::string& path, uint64_t entry_id, ModuleLoader::Result result,
                     const py::object& previous);
  void apply_pending_clears();

  const ScriptResolver& resolver_;
  ModuleLoader loader_;
  std::atomic<uint64_t> loads_{0};

  std::mutex mu_;
  std::condition_variable loaded_;                                 // a load finished
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;  // guarded by mu_
  uint64_t next_entry_id_ = 1;                                     // guarded by mu_

  std::mutex clear_mu_;
  std::atomic<bool> clear_pending_{false};
  bool clear_all_ = false;                  // guarded by clear_mu_
  std::vector<std::string> clear_paths_;    // guarded by clear_mu_
  std::vector<std::string> clear_scripts_;  // guarded by clear_mu_
};

}  // namespace zfleet::worker
