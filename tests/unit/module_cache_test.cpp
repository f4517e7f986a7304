// Unit tests of the module cache (worker/exec/module_cache.h) with real
// script files in a temporary root and a real embedded interpreter: load
// once, reload on every kind of edit, keep the old module when a reload
// fails or is not a finished edit (empty, does not compile, still being
// written), remember the failure, clear one or all, single-flight loads.
// Every edit sets the file's mtime explicitly, so no test depends on the
// file system's timestamp granularity. An edit of a loaded script is
// picked up by the next call once the file has been quiet for kSettle
// (100 ms; that call waits for it), so tests of edits take that long each.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <msgpack.hpp>

#include "worker/exec/gil.h"
#include "worker/exec/module_cache.h"
#include "worker/exec/python_runtime.h"
#include "worker/exec/script_file.h"
#include "tests/unit/python_test_support.h"
#include "worker/exec/task_runner.h"

namespace fs = std::filesystem;
using namespace zfleet::worker;
using zfleet::common::TaskErrorCode;

namespace {

using testing::packed;
using testing::runtime;

// A script root in a fresh temp folder, and a TaskRunner over it.
class Scripts {
 public:
  Scripts() {
    runtime();
    root_ = testing::fresh_temp_dir("zfleet_module_cache_test");
    runner_ = std::make_unique<TaskRunner>(std::vector<std::string>{root_.string()});
  }
  ~Scripts() {
    runner_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Writes the script and gives it a new mtime, later than any before.
  void write(const std::string& name, const std::string& text) {
    fs::path file = root_ / name;
    std::ofstream(file, std::ios::trunc) << text;
    fs::last_write_time(file, base_ + std::chrono::seconds(++edits_));
  }

  TaskOutput call(const std::string& script, const std::string& func,
                  const std::string& args = "") {
    TaskInput in;
    in.id = "t";
    in.script = script;
    in.func = func;
    in.args_msgpack = args;
    return runner_->run(in);
  }

  // Calls a function returning an int.
  int64_t call_int(const std::string& script, const std::string& func) {
    TaskOutput out = call(script, func);
    if (!out.ok) {
      FAIL_CHECK(script << ":" << func << " failed: " << out.error.type << ": "
                        << out.error.message);
      return -1;
    }
    msgpack::object_handle oh = msgpack::unpack(out.result_msgpack.data(), out.result_msgpack.size());
    return oh.get().as<int64_t>();
  }

  // Writes the script without touching its times (as an editor would).
  void write_raw(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name, std::ios::trunc) << text;
  }

  // Until the last write is older than kSettle: the file counts as finished.
  static void let_settle() { std::this_thread::sleep_for(kSettle + std::chrono::milliseconds(20)); }

  TaskRunner& runner() { return *runner_; }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
  std::unique_ptr<TaskRunner> runner_;
  fs::file_time_type base_ = fs::file_time_type::clock::now() - std::chrono::hours(1);
  int edits_ = 0;
};

const char* kCounter =
    "calls = 0\n"
    "def bump():\n"
    "    global calls\n"
    "    calls += 1\n"
    "    return calls\n";

}  // namespace

TEST_SUITE("module_cache") {
  TEST_CASE("a script is loaded once and its module reused") {
    Scripts s;
    s.write("counter.py", kCounter);
    CHECK(s.call_int("counter.py", "bump") == 1);
    CHECK(s.call_int("counter.py", "bump") == 2);
    CHECK(s.call_int("counter.py", "bump") == 3);
    CHECK(s.runner().module_loads() == 1);
    CHECK_FALSE(fs::exists(s.root() / "__pycache__"));  // no bytecode written
  }

  TEST_CASE("get() hands out the same module object until the file changes") {
    Scripts s;
    s.write("m.py", "x = 1\n");
    GilAcquire gil;
    ScriptResolver resolver({s.root().string()});
    PyErrorFormatter errors;
    ModuleCache cache(resolver, errors, PyExc_TimeoutError);
    auto first = cache.get(*resolver.resolve("m.py").script, "m.py");
    auto again = cache.get(*resolver.resolve("m.py").script, "m.py");
    REQUIRE(first.module);
    CHECK(first.module.is(again.module));
    // Registered in sys.modules under its own name.
    py::object name = first.module.attr("__name__");
    auto registered = [&] { return py::object(py::module_::import("sys").attr("modules")[name]); };
    CHECK(registered().is(first.module));
    s.write("m.py", "x = 2\n");
    auto edited = cache.get(*resolver.resolve("m.py").script, "m.py");
    REQUIRE(edited.module);
    CHECK_FALSE(edited.module.is(first.module));
    CHECK(registered().is(edited.module));
    CHECK(first.module.attr("x").cast<int>() == 1);  // a running task keeps its module
    CHECK(cache.load_count() == 2);
  }

  TEST_CASE("an edit reloads into a new module") {
    Scripts s;
    s.write("v.py", std::string(kCounter) + "def value():\n    return 1\n");
    CHECK(s.call_int("v.py", "bump") == 1);
    CHECK(s.call_int("v.py", "value") == 1);
    s.write("v.py", std::string(kCounter) + "def value():\n    return 1234\n");  // new size
    CHECK(s.call_int("v.py", "value") == 1234);
    CHECK(s.call_int("v.py", "bump") == 1);  // module-level state starts over
    s.write("v.py", std::string(kCounter) + "def value():\n    return 5678\n");  // same size
    CHECK(s.call_int("v.py", "value") == 5678);
    CHECK(s.runner().module_loads() == 3);
  }

  TEST_CASE("a finished edit that does not compile fails one task; the old module runs on") {
    Scripts s;
    s.write("f.py", kCounter);
    CHECK(s.call_int("f.py", "bump") == 1);
    s.write("f.py", "def bump(:\n    return 0\n");
    // The task waits until the file is quiet, then loads it: a settled
    // SyntaxError is the task's error (PROTOCOL.md script_error).
    TaskOutput broken = s.call("f.py", "bump");
    CHECK(broken.error.code == TaskErrorCode::script_error);
    CHECK(broken.error.type == "SyntaxError");
    const uint64_t loads = s.runner().module_loads();
    // Same broken file: the good module runs, the broken file is not retried.
    CHECK(s.call_int("f.py", "bump") == 2);
    CHECK(s.call_int("f.py", "bump") == 3);
    CHECK(s.runner().module_loads() == loads);
    // A module that raises while loading fails the task (it compiled: a
    // finished edit), and the old module stays for the next ones.
    s.write("f.py", "import zfleet_no_such_module_xyz\n");
    TaskOutput out = s.call("f.py", "bump");
    CHECK(out.error.code == TaskErrorCode::script_error);
    CHECK(out.error.type == "ModuleNotFoundError");
    CHECK(s.runner().module_loads() == loads + 1);
    CHECK(s.call_int("f.py", "bump") == 4);
    // A fixed edit loads.
    s.write("f.py", std::string(kCounter) + "# fixed\n");
    CHECK(s.call_int("f.py", "bump") == 1);
  }

  TEST_CASE("a SyntaxError with no module to fall back on is the task's error") {
    Scripts s;
    s.write("f.py", "def bump(:\n    return 0\n");
    Scripts::let_settle();
    TaskOutput out = s.call("f.py", "bump");
    REQUIRE_FALSE(out.ok);
    CHECK(out.error.code == TaskErrorCode::script_error);
    CHECK(out.error.type == "SyntaxError");
    CHECK_FALSE(out.error.message.empty());
    CHECK(out.error.traceback.find("SyntaxError") != std::string::npos);
    CHECK(out.error.traceback.find("f.py") != std::string::npos);
  }

  TEST_CASE("an emptied script keeps its good module until it changes again") {
    Scripts s;
    s.write("e.py", kCounter);
    CHECK(s.call_int("e.py", "bump") == 1);
    s.write("e.py", "");
    CHECK(s.call_int("e.py", "bump") == 2);
    CHECK(s.call_int("e.py", "bump") == 3);
    s.write("e.py", std::string(kCounter) + "# back\n");
    CHECK(s.call_int("e.py", "bump") == 1);
  }

  TEST_CASE("an edit written in pieces is loaded only once finished") {
    Scripts s;
    s.write("p.py", "def main():\n    return 1\n");
    Scripts::let_settle();
    CHECK(s.call_int("p.py", "main") == 1);
    // Truncated, then valid Python up to a cut (no main yet): a task now
    // waits for the writer, and runs the finished file.
    s.write_raw("p.py", "import os\n");
    std::thread writer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      std::ofstream(s.root() / "p.py", std::ios::app) << "X = 2\n";
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      std::ofstream(s.root() / "p.py", std::ios::app) << "def main():\n    return X\n";
    });
    CHECK(s.call_int("p.py", "main") == 2);
    writer.join();
    CHECK(s.runner().module_loads() == 2);
  }

  TEST_CASE("while one task waits for an edit to settle, others run the old module") {
    Scripts s;
    s.write("w.py", "def main():\n    return 1\n");
    Scripts::let_settle();
    CHECK(s.call_int("w.py", "main") == 1);
    s.write_raw("w.py", "def main():\n    return 2\n");
    int64_t waited = 0;
    std::thread settler([&] { waited = s.call_int("w.py", "main"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the settler waits by now
    const int64_t meanwhile = s.call_int("w.py", "main");
    settler.join();
    CHECK(waited == 2);
    // 1 if the settler was still waiting (the usual case), 2 if it had loaded.
    CHECK((meanwhile == 1 || meanwhile == 2));
    CHECK(s.call_int("w.py", "main") == 2);
  }

  TEST_CASE("a file that never stops changing: the old module after the limit, the new one later") {
    Scripts s;
    s.write("busy.py", "def main():\n    return 1\n");
    Scripts::let_settle();
    CHECK(s.call_int("busy.py", "main") == 1);
    std::atomic<bool> stop{false};
    std::atomic<int> writes{0};
    std::thread writer([&] {
      for (int i = 0; !stop; ++i) {
        s.write_raw("busy.py", "def main():\n    return 2\n" + std::string(static_cast<std::size_t>(i % 3), '#'));
        ++writes;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    while (writes == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(s.call_int("busy.py", "main") == 1);  // gave up waiting after ~1 s
    stop = true;
    writer.join();
    Scripts::let_settle();
    CHECK(s.call_int("busy.py", "main") == 2);
  }

  TEST_CASE("a script that never loaded keeps failing without retrying") {
    Scripts s;
    s.write("bad.py", "raise RuntimeError('no way')\n");
    Scripts::let_settle();  // a finished file: its failure is remembered
    TaskOutput out = s.call("bad.py", "main");
    CHECK(out.error.code == TaskErrorCode::script_error);
    CHECK(out.error.type == "RuntimeError");
    CHECK(out.error.message == "no way");
    CHECK(out.error.traceback.find("bad.py") != std::string::npos);
    out = s.call("bad.py", "main");
    CHECK(out.error.code == TaskErrorCode::script_error);
    CHECK(out.error.message == "no way");
    CHECK(s.runner().module_loads() == 1);
    s.write("bad.py", "def main():\n    return 7\n");
    CHECK(s.call_int("bad.py", "main") == 7);
  }

  TEST_CASE("a first load of a file still being written is retried by the next task") {
    Scripts s;
    s.write("new.py", "def main(:\n");  // just written: may be half a file
    CHECK(s.call("new.py", "main").error.type == "SyntaxError");
    s.write_raw("new.py", "def main():\n    return 3\n");
    CHECK(s.call_int("new.py", "main") == 3);
  }

  TEST_CASE("clear_cache drops one script or all of them") {
    Scripts s;
    s.write("a.py", kCounter);
    s.write("b.py", kCounter);
    s.call_int("a.py", "bump");
    s.call_int("b.py", "bump");
    CHECK(s.call_int("a.py", "bump") == 2);
    CHECK(s.call_int("b.py", "bump") == 2);
    s.runner().request_clear("a.py");
    CHECK(s.call_int("a.py", "bump") == 1);
    CHECK(s.call_int("b.py", "bump") == 3);
    s.runner().request_clear(std::nullopt);
    CHECK(s.call_int("a.py", "bump") == 1);
    CHECK(s.call_int("b.py", "bump") == 1);
    s.runner().request_clear("not_loaded.py");  // harmless
    CHECK(s.call_int("a.py", "bump") == 2);
  }

  TEST_CASE("clear_cache from another thread needs no GIL") {
    Scripts s;
    s.write("c.py", kCounter);
    CHECK(s.call_int("c.py", "bump") == 1);
    // The main thread does not hold the GIL here either; a thread that never
    // touched Python is the I/O thread's situation exactly.
    std::thread io([&] { s.runner().request_clear("c.py"); });
    io.join();
    CHECK(s.call_int("c.py", "bump") == 1);
  }

  TEST_CASE("modules can rely on sys.modules while loading (dataclasses)") {
    Scripts s;
    s.write("dc.py",
            "from dataclasses import dataclass\n"
            "@dataclass\n"
            "class Point:\n"
            "    x: int\n"
            "    y: int = 2\n"
            "def main():\n"
            "    return Point(3).x + Point(3).y\n");
    CHECK(s.call_int("dc.py", "main") == 5);
  }

  TEST_CASE("concurrent first calls load the module once") {
    Scripts s;
    // The sleep holds the load open so that the other threads arrive while
    // it runs; the counter lives in builtins, which outlives any module.
    s.write("once.py",
            "import builtins, time\n"
            "builtins.zfleet_once_loads = getattr(builtins, 'zfleet_once_loads', 0) + 1\n"
            "time.sleep(0.2)\n"
            "def add(a, b):\n"
            "    return a + b\n"
            "def loads():\n"
            "    return builtins.zfleet_once_loads\n");
    constexpr int kThreads = 4;
    constexpr int kCalls = 200;
    std::atomic<int> ok{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const std::string args = packed(std::make_tuple(t, i));
          TaskOutput out = s.call("once.py", "add", args);
          if (out.ok && out.result_msgpack == packed(t + i)) {
            ++ok;
          } else {
            ++wrong;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(ok == kThreads * kCalls);
    CHECK(wrong == 0);
    CHECK(s.runner().module_loads() == 1);
    CHECK(s.call_int("once.py", "loads") == 1);
  }
}
