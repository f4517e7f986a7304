// Unit tests of Python task execution through TaskRunner::run (worker/exec/
// task_runner.h, python_executor.h): every task error code, exceptions with
// type/message/traceback, args/kwargs, timeouts interrupting a CPU-bound
// loop without leaking into later tasks, and many threads at once. Real
// script files in a temporary root, a real embedded interpreter.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <msgpack.hpp>

#include <pybind11/pybind11.h>

#include "worker/exec/gil.h"
#include "worker/exec/python_runtime.h"
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
    base_ = testing::fresh_temp_dir("zfleet_python_executor_test");
    fs::create_directories(base_ / "root");
    runner_ = std::make_unique<TaskRunner>(std::vector<std::string>{(base_ / "root").string()});
  }
  ~Scripts() {
    runner_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // `name` is relative to the root ("../x" writes beside it).
  void write(const std::string& name, const std::string& text) {
    fs::path file = base_ / "root" / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::trunc) << text;
  }

  TaskOutput run(const std::string& script, const std::string& func = "main",
                 const std::string& args = "", const std::string& kwargs = "",
                 uint32_t timeout_ms = 0) {
    TaskInput in;
    in.id = "task";
    in.script = script;
    in.func = func;
    in.args_msgpack = args;
    in.kwargs_msgpack = kwargs;
    in.timeout_ms = timeout_ms;
    return runner_->run(in);
  }

  TaskRunner& runner() { return *runner_; }
  const fs::path& base() const { return base_; }

 private:
  fs::path base_;
  std::unique_ptr<TaskRunner> runner_;
};

// Python thread states alive in the interpreter.
int thread_state_count() {
  GilAcquire gil;
  int n = 0;
  for (PyThreadState* t = PyInterpreterState_ThreadHead(PyInterpreterState_Main()); t != nullptr;
       t = PyThreadState_Next(t)) {
    ++n;
  }
  return n;
}

void check_error(const TaskOutput& out, TaskErrorCode code) {
  CHECK_FALSE(out.ok);
  CHECK(zfleet::common::to_string(out.error.code) == zfleet::common::to_string(code));
  CHECK_FALSE(out.error.message.empty());
}

const char* kTasks =
    "import time\n"
    "class MyError(Exception):\n"
    "    pass\n"
    "def main():\n"
    "    return 'main'\n"
    "def echo(*args, **kwargs):\n"
    "    return [list(args), kwargs]\n"
    "def params(a, b=0, *, c):\n"
    "    return [a, b, c]\n"
    "def nothing():\n"
    "    return None\n"
    "def boom():\n"
    "    raise ValueError('boom ' + 'here')\n"
    "def custom():\n"
    "    raise MyError('mine')\n"
    "def leave():\n"
    "    raise SystemExit(3)\n"
    "def a_set():\n"
    "    return {1, 2}\n"
    "def int_keys():\n"
    "    return {'ok': {1: 2}}\n"
    "def spin():\n"
    "    while True:\n"
    "        pass\n"
    "def stubborn():\n"
    "    try:\n"
    "        while True:\n"
    "            pass\n"
    "    except Exception:\n"
    "        return 'swallowed'\n"
    "def nap(seconds):\n"
    "    time.sleep(seconds)\n"
    "    return 'woke'\n"
    "def work(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        total += i\n"
    "    return total\n"
    "def threaded():\n"
    "    import threading\n"
    "    box = []\n"
    "    t = threading.Thread(target=lambda: box.append(sum(range(10))))\n"
    "    t.start()\n"
    "    t.join()\n"
    "    return box[0]\n"
    "def argv():\n"
    "    import sys\n"
    "    return [len(sys.argv), sys.dont_write_bytecode]\n"
    "not_callable = 5\n";

}  // namespace

TEST_SUITE("python_executor") {
  TEST_CASE("a call returns its value as msgpack") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py");
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(std::string("main")));
    out = s.run("tasks.py", "nothing");
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == "\xc0");
    out = s.run("tasks.py", "work", packed(std::make_tuple(10)));
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(45));
  }

  TEST_CASE("args and kwargs are passed through") {
    Scripts s;
    s.write("tasks.py", kTasks);
    std::map<std::string, int> kw{{"c", 3}};
    TaskOutput out = s.run("tasks.py", "params", packed(std::make_tuple(1)), packed(kw));
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(std::make_tuple(1, 0, 3)));

    std::map<std::string, std::string> kw2{{"k", "v"}};
    const std::string bin = packed(std::vector<char>{'\x00', '\xff'});
    out = s.run("tasks.py", "echo", "\x92\xc3" + bin, packed(kw2));
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == "\x92\x92\xc3" + bin + packed(kw2));
  }

  TEST_CASE("script_not_found and script_not_allowed") {
    Scripts s;
    s.write("../outside.py", "def main():\n    return 1\n");
    fs::create_symlink(s.base() / "outside.py", s.base() / "root" / "link.py");
    TaskOutput out = s.run("missing.py");
    check_error(out, TaskErrorCode::script_not_found);
    CHECK(out.error.message.find("missing.py") != std::string::npos);
    out = s.run("link.py");
    check_error(out, TaskErrorCode::script_not_allowed);
    CHECK(out.error.message.find("link.py") != std::string::npos);
  }

  TEST_CASE("script_error carries type, message and traceback") {
    Scripts s;
    s.write("broken.py", "def main(:\n    pass\n");
    TaskOutput out = s.run("broken.py");
    check_error(out, TaskErrorCode::script_error);
    CHECK(out.error.type == "SyntaxError");
    CHECK_FALSE(out.error.traceback.empty());
  }

  TEST_CASE("func_not_found: missing or not callable") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py", "nope");
    check_error(out, TaskErrorCode::func_not_found);
    CHECK(out.error.message.find("nope") != std::string::npos);
    out = s.run("tasks.py", "not_callable");
    check_error(out, TaskErrorCode::func_not_found);
    CHECK(out.error.message.find("int") != std::string::npos);
    check_error(s.run("tasks.py", std::string("\xff\xfe", 2)), TaskErrorCode::func_not_found);
  }

  TEST_CASE("an exception gives its type, message and traceback") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py", "boom");
    check_error(out, TaskErrorCode::exception);
    CHECK(out.error.type == "ValueError");
    CHECK(out.error.message == "boom here");
    CHECK(out.error.traceback.find("Traceback") != std::string::npos);
    CHECK(out.error.traceback.find("tasks.py") != std::string::npos);
    CHECK(out.error.traceback.find("raise ValueError") != std::string::npos);
    CHECK(out.error.traceback.find("ValueError: boom here") != std::string::npos);

    out = s.run("tasks.py", "custom");
    CHECK(out.error.type == "MyError");
    CHECK(out.error.message == "mine");

    out = s.run("tasks.py", "params");  // missing arguments: Python's TypeError
    check_error(out, TaskErrorCode::exception);
    CHECK(out.error.type == "TypeError");

    out = s.run("tasks.py", "leave");  // SystemExit must not end the worker
    check_error(out, TaskErrorCode::exception);
    CHECK(out.error.type == "SystemExit");
    CHECK(s.run("tasks.py").ok);
  }

  TEST_CASE("bad args or kwargs bytes are a TypeError") {
    Scripts s;
    s.write("tasks.py", kTasks);
    for (const std::string& args : {std::string("\xc1"), std::string("\x92\x01"), packed(5),
                                    std::string("\xdd\xff\xff\xff\xff", 5)}) {
      TaskOutput out = s.run("tasks.py", "echo", args);
      check_error(out, TaskErrorCode::exception);
      CHECK(out.error.type == "TypeError");
    }
    std::map<int, int> int_keys{{1, 2}};
    TaskOutput out = s.run("tasks.py", "echo", "", packed(int_keys));
    check_error(out, TaskErrorCode::exception);
    CHECK(out.error.type == "TypeError");
    out = s.run("tasks.py", "echo", "", packed(std::make_tuple(1)));
    CHECK(out.error.type == "TypeError");
  }

  TEST_CASE("unserializable_result names the type") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py", "a_set");
    check_error(out, TaskErrorCode::unserializable_result);
    CHECK(out.error.message.find("'set'") != std::string::npos);
    out = s.run("tasks.py", "int_keys");
    check_error(out, TaskErrorCode::unserializable_result);
    CHECK(out.error.message.find("'int'") != std::string::npos);
  }

  TEST_CASE("a CPU-bound loop is interrupted at its timeout") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py", "spin", "", "", 100);
    check_error(out, TaskErrorCode::timeout);
    // `except Exception` does not catch the timeout.
    out = s.run("tasks.py", "stubborn", "", "", 100);
    check_error(out, TaskErrorCode::timeout);
    // Nothing leaks into the next tasks on this thread: they run bytecode
    // long enough to trip over a pending async exception.
    for (int i = 0; i < 3; ++i) {
      out = s.run("tasks.py", "work", packed(std::make_tuple(200000)));
      CHECK(out.ok);
    }
    // A generous timeout does not fire.
    CHECK(s.run("tasks.py", "work", packed(std::make_tuple(1000)), "", 60'000).ok);
  }

  TEST_CASE("a call blocked in C past its deadline still reports timeout") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py", "nap", packed(std::make_tuple(0.3)), "", 30);
    check_error(out, TaskErrorCode::timeout);
    CHECK(s.run("tasks.py", "work", packed(std::make_tuple(100000))).ok);
  }

  TEST_CASE("many threads at once, with a timeout among them") {
    Scripts s;
    s.write("tasks.py", kTasks);
    constexpr int kThreads = 4;
    constexpr int kCalls = 200;
    std::atomic<int> ok{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const bool builtin = (i % 10 == 0);
          const std::string args = packed(std::make_tuple(builtin ? i : t * 1000 + i));
          TaskOutput out = builtin ? s.run("builtin:echo", "main", args)
                                   : s.run("tasks.py", "work", args);
          const int n = t * 1000 + i;
          const std::string want = builtin ? packed(i) : packed(int64_t{n} * (n - 1) / 2);
          (out.ok && out.result_msgpack == want ? ok : wrong)++;
        }
      });
    }
    TaskOutput spun;
    std::thread spinner([&] { spun = s.run("tasks.py", "spin", "", "", 200); });
    for (auto& th : threads) th.join();
    spinner.join();
    CHECK(ok == kThreads * kCalls);
    CHECK(wrong == 0);
    CHECK(spun.error.code == TaskErrorCode::timeout);
    CHECK(s.runner().module_loads() == 1);
  }

  TEST_CASE("task code may start and join its own Python threads") {
    Scripts s;
    s.write("tasks.py", kTasks);
    TaskOutput out = s.run("tasks.py", "threaded");
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(45));
    out = s.run("tasks.py", "argv");
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(std::make_tuple(1, true)));
  }

  TEST_CASE("a pool thread keeps one Python thread state across tasks and pybind11 guards") {
    runtime();
    const int states_before = thread_state_count();
    PyThreadState* first = nullptr;
    bool same = false;
    bool nested_ok = false;
    std::thread pool_thread([&] {
      {
        GilAcquire gil;
        first = PyThreadState_Get();
        {
          pybind11::gil_scoped_acquire nested;  // what a pybind11 extension would do
        }
        {
          const PyGILState_STATE st = PyGILState_Ensure();  // what a C extension would do
          PyGILState_Release(st);
        }
        {
          GilAcquire again;  // nested use is a no-op
        }
        nested_ok = PyGILState_Check() == 1;
      }
      {
        GilAcquire gil;  // a later task on the same thread
        same = PyThreadState_Get() == first && PyGILState_GetThisThreadState() == first;
      }
    });
    pool_thread.join();  // its state is deleted at thread exit, under the GIL
    CHECK(thread_state_count() == states_before);
    CHECK(first != nullptr);
    CHECK(nested_ok);
    CHECK(same);
  }
}
