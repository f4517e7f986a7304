// Unit tests of the builtin tasks (worker/exec/builtins.h): echo, sleep and
// spin run natively, with no Python interpreter in this process, both
// through run_builtin() and through TaskRunner's dispatch; sleep and spin
// stop early when their CancelFlag is raised. Waits are generous upper
// bounds on events that must happen; nothing asserts on elapsed time.

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <msgpack.hpp>

#include "tests/unit/msgpack_test_support.h"
#include "worker/exec/builtins.h"
#include "worker/exec/task_runner.h"

using namespace zfleet::worker;
using zfleet::common::TaskErrorCode;

namespace {

using zfleet::testing::packed;

TaskOutput run(std::string_view script, std::string_view args, uint32_t timeout_ms = 0,
               CancelFlag* cancel = nullptr) {
  TaskInput in;
  in.id = "t1";
  in.script = script;
  in.func = "main";
  in.args_msgpack = args;
  in.timeout_ms = timeout_ms;
  in.cancel = cancel;
  return run_builtin(in);
}

// Runs `script` (24 hours long unless cancelled) on a thread and raises its
// flag from this one once it is under way.
TaskOutput run_and_cancel(std::string_view script, std::string_view args) {
  CancelFlag flag;
  TaskOutput out;
  std::thread runner([&] { out = run(script, args, 0, &flag); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // usually running by now; either way works
  flag.request();
  runner.join();
  return out;
}

void check_error(const TaskOutput& out, TaskErrorCode code, std::string_view type = {}) {
  CHECK_FALSE(out.ok);
  CHECK(out.error.code == code);
  CHECK(out.error.type == type);
  CHECK_FALSE(out.error.message.empty());
}

}  // namespace

TEST_SUITE("builtins") {
  TEST_CASE("echo returns the exact bytes of args[0]") {
    const std::string first = packed(std::map<std::string, std::vector<int>>{{"a", {1, 2, 3}}});
    const std::string args = "\x92" + first + packed(7);
    TaskOutput out = run("builtin:echo", args);
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == first);

    // A non-canonical encoding (int64 format for 5) comes back unchanged,
    // which re-encoding a decoded value would not do.
    const std::string wide("\xd3\x00\x00\x00\x00\x00\x00\x00\x05", 9);
    out = run("builtin:echo", "\x91" + wide);
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == wide);

    // array16 header
    const std::string bin = packed(std::vector<char>{'x', '\0', 'y'});
    out = run("builtin:echo", std::string("\xdc\x00\x01", 3) + bin);
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == bin);
  }

  TEST_CASE("echo without args returns nil") {
    CHECK(run("builtin:echo", "").result_msgpack == "\xc0");
    CHECK(run("builtin:echo", "\x90").result_msgpack == "\xc0");
    CHECK(run("builtin:echo", "\xc0").result_msgpack == "\xc0");  // nil args mean []
  }

  TEST_CASE("sleep and spin return nil") {
    TaskOutput out = run("builtin:sleep", packed(std::make_tuple(5)));
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == "\xc0");
    out = run("builtin:spin", packed(std::make_tuple(200)));
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == "\xc0");
    out = run("builtin:sleep", packed(std::make_tuple(0)));
    CHECK(out.ok);
  }

  TEST_CASE("sleep and spin past their timeout report timeout") {
    check_error(run("builtin:sleep", packed(std::make_tuple(2000)), 20), TaskErrorCode::timeout);
    check_error(run("builtin:spin", packed(std::make_tuple(2'000'000)), 20), TaskErrorCode::timeout);
    CHECK(run("builtin:sleep", packed(std::make_tuple(1)), 60'000).ok);
  }

  TEST_CASE("sleep and spin stop with `cancelled` when their flag is raised") {
    const auto day_ms = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBuiltinDuration);
    const auto day_us = std::chrono::duration_cast<std::chrono::microseconds>(kMaxBuiltinDuration);
    // A day long each: only the cancel can end them within the test's life.
    TaskOutput out = run_and_cancel("builtin:sleep", packed(std::make_tuple(day_ms.count())));
    check_error(out, TaskErrorCode::cancelled);
    CHECK(out.error.message.find("builtin:sleep") != std::string::npos);
    check_error(run_and_cancel("builtin:spin", packed(std::make_tuple(day_us.count()))),
                TaskErrorCode::cancelled);
  }

  TEST_CASE("a flag raised before the start cancels sleep and spin at once; echo still answers") {
    CancelFlag flag;
    flag.request();
    check_error(run("builtin:sleep", packed(std::make_tuple(3'600'000)), 0, &flag),
                TaskErrorCode::cancelled);
    check_error(run("builtin:spin", packed(std::make_tuple(3'600'000'000LL)), 0, &flag),
                TaskErrorCode::cancelled);
    TaskOutput out = run("builtin:echo", packed(std::make_tuple(7)), 0, &flag);
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(7));
  }

  TEST_CASE("a flag never raised changes nothing") {
    CancelFlag flag;
    CHECK(run("builtin:sleep", packed(std::make_tuple(5)), 0, &flag).ok);
    CHECK(run("builtin:spin", packed(std::make_tuple(200)), 0, &flag).ok);
    check_error(run("builtin:sleep", packed(std::make_tuple(2000)), 20, &flag), TaskErrorCode::timeout);
  }

  TEST_CASE("unknown builtin is script_not_found") {
    TaskOutput out = run("builtin:nope", "");
    check_error(out, TaskErrorCode::script_not_found);
    CHECK(out.error.message.find("builtin:nope") != std::string::npos);
    check_error(run("builtin:", ""), TaskErrorCode::script_not_found);
  }

  TEST_CASE("bad arguments are TypeError or ValueError") {
    check_error(run("builtin:sleep", packed(std::make_tuple("ten"))), TaskErrorCode::exception,
                "TypeError");
    check_error(run("builtin:sleep", packed(std::make_tuple(1.5))), TaskErrorCode::exception,
                "TypeError");
    check_error(run("builtin:sleep", ""), TaskErrorCode::exception, "TypeError");
    check_error(run("builtin:spin", packed(std::make_tuple(-1))), TaskErrorCode::exception,
                "ValueError");
    check_error(run("builtin:sleep", packed(std::make_tuple(uint64_t{1} << 40))),
                TaskErrorCode::exception, "ValueError");
  }

  TEST_CASE("garbage args are TypeError, for every builtin") {
    const std::vector<std::string> garbage = {
        "\xc1",                             // never-used byte
        "\x92\x01",                         // truncated array
        std::string("\xdd\xff\xff\xff\xff", 5),  // array32 claiming 4G elements
        packed(std::map<std::string, int>{{"a", 1}}),  // a map, not an array
        "\x91\x01\x02",                     // trailing byte
        std::string("\x91\xd4\x01\x00", 4),  // ext
    };
    for (const auto& args : garbage) {
      for (const char* script : {"builtin:echo", "builtin:sleep", "builtin:spin"}) {
        CAPTURE(script);
        check_error(run(script, args), TaskErrorCode::exception, "TypeError");
      }
    }
  }

  TEST_CASE("TaskRunner runs builtins without a Python interpreter") {
    TaskRunner runner({});
    TaskInput in;
    in.script = "builtin:echo";
    in.func = "main";
    const std::string args = packed(std::make_tuple("hello"));
    in.args_msgpack = args;
    TaskOutput out = runner.run(in);
    REQUIRE(out.ok);
    CHECK(out.result_msgpack == packed(std::string("hello")));
    in.script = "task.py";  // no roots at all
    CHECK(runner.run(in).error.code == TaskErrorCode::script_not_found);
    runner.request_clear(std::nullopt);  // harmless without Python
  }
}
