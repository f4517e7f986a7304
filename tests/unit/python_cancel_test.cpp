// Unit tests of cancelling Python tasks (worker/exec/python_executor.h,
// timeout_watchdog.h): a raised CancelFlag makes the watchdog thread raise
// zfleet.TaskCancelled in the running call, which then reports `cancelled`
// (never `timeout`); a flag raised before the call means no call; a call
// blocked in C sees the cancel when it returns; nothing leaks into the next
// task. Real scripts in a temporary root, a real embedded interpreter.
// Waits are generous upper bounds on events that must happen.

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/unit/python_test_support.h"
#include "worker/exec/task_runner.h"

namespace fs = std::filesystem;
using namespace zfleet::worker;
using namespace std::chrono_literals;
using zfleet::common::TaskErrorCode;

namespace {

using testing::packed;

const char* kCancelTasks =
    "import time\n"
    "def spin(marker):\n"
    "    open(marker, 'w').close()\n"
    "    while True:\n"
    "        pass\n"
    "def stubborn(marker):\n"
    "    open(marker, 'w').close()\n"
    "    try:\n"
    "        while True:\n"
    "            pass\n"
    "    except Exception:\n"
    "        return 'swallowed'\n"
    "def nap(marker, seconds):\n"
    "    open(marker, 'w').close()\n"
    "    time.sleep(seconds)\n"
    "    return 'woke'\n"
    "def touch(marker):\n"
    "    open(marker, 'w').close()\n"
    "    return 'ran'\n"
    "def work(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        total += i\n"
    "    return total\n";

// A script root with kCancelTasks as tasks.py, and a TaskRunner over it.
class Fixture {
 public:
  Fixture() {
    testing::runtime();
    base_ = testing::fresh_temp_dir("zfleet_python_cancel_test");
    fs::create_directories(base_ / "root");
    std::ofstream(base_ / "root" / "tasks.py") << kCancelTasks;
    runner_ = std::make_unique<TaskRunner>(std::vector<std::string>{(base_ / "root").string()});
  }
  ~Fixture() {
    runner_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::string marker(const std::string& name) const { return (base_ / name).string(); }

  TaskOutput run(const std::string& func, const std::string& args, CancelFlag* flag,
                 uint32_t timeout_ms = 60'000) {
    TaskInput in;
    in.id = "task";
    in.script = "tasks.py";
    in.func = func;
    in.args_msgpack = args;
    in.timeout_ms = timeout_ms;
    in.cancel = flag;
    return runner_->run(in);
  }

  // Runs `func` on a thread, raises the flag once the task has written its
  // marker file (so the call is under way), and returns the outcome.
  TaskOutput run_then_cancel(const std::string& func, const std::string& args,
                             const std::string& marker_path) {
    CancelFlag flag;
    TaskOutput out;
    std::thread runner([&] { out = run(func, args, &flag); });
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!fs::exists(marker_path) && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(2ms);
    }
    CHECK(fs::exists(marker_path));
    flag.request();
    runner.join();
    return out;
  }

 private:
  fs::path base_;
  std::unique_ptr<TaskRunner> runner_;
};

void check_cancelled(const TaskOutput& out) {
  CHECK_FALSE(out.ok);
  CHECK(zfleet::common::to_string(out.error.code) == "cancelled");
  CHECK(out.error.message.find("tasks.py") != std::string::npos);
}

}  // namespace

TEST_SUITE("python_cancel") {
  TEST_CASE("a running CPU-bound loop is stopped with TaskCancelled, reported as cancelled") {
    Fixture f;
    const std::string m = f.marker("spin");
    TaskOutput out = f.run_then_cancel("spin", packed(std::make_tuple(m)), m);
    check_cancelled(out);
    CHECK(out.error.message.find("while running") != std::string::npos);
  }

  TEST_CASE("`except Exception` does not swallow the cancel") {
    Fixture f;
    const std::string m = f.marker("stubborn");
    check_cancelled(f.run_then_cancel("stubborn", packed(std::make_tuple(m)), m));
  }

  TEST_CASE("a flag raised before the call: the function never runs") {
    Fixture f;
    CancelFlag flag;
    flag.request();
    const std::string m = f.marker("touch");
    TaskOutput out = f.run("touch", packed(std::make_tuple(m)), &flag);
    check_cancelled(out);
    CHECK(out.error.message.find("before it started") != std::string::npos);
    CHECK_FALSE(fs::exists(m));
  }

  TEST_CASE("a call blocked in C is cancelled once it returns") {
    Fixture f;
    const std::string m = f.marker("nap");
    check_cancelled(f.run_then_cancel("nap", packed(std::make_tuple(m, 0.3)), m));
  }

  TEST_CASE("a finished call keeps its result; nothing leaks into the next tasks") {
    Fixture f;
    CancelFlag flag;
    TaskOutput out = f.run("work", packed(std::make_tuple(1000)), &flag);
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(499500));
    flag.request();  // too late: the call is over, and nothing is armed
    const std::string m = f.marker("spin");
    check_cancelled(f.run_then_cancel("spin", packed(std::make_tuple(m)), m));
    // Later tasks on this thread run bytecode long enough to trip over a
    // pending async exception, had one been left behind.
    CancelFlag fresh;
    for (int i = 0; i < 3; ++i) CHECK(f.run("work", packed(std::make_tuple(200000)), &fresh).ok);
    CHECK(f.run("work", packed(std::make_tuple(200000)), nullptr).ok);
  }

  TEST_CASE("with a flag attached, a timeout is still a timeout") {
    Fixture f;
    CancelFlag flag;
    TaskOutput out = f.run("spin", packed(std::make_tuple(f.marker("spin"))), &flag, 100);
    CHECK_FALSE(out.ok);
    CHECK(zfleet::common::to_string(out.error.code) == "timeout");
  }
}
