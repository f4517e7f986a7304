// Unit tests of tools/cli/batch_lines: the JSON lines of `zfleet
// submit-batch`, checked whole before anything is sent.
#include <doctest/doctest.h>

#include <sstream>

#include "common/msgpack_writer.h"
#include "tools/cli/batch_lines.h"

using namespace zfleet;

namespace {

cli::BatchInput read(const std::string& text) {
  std::istringstream in(text);
  return cli::read_batch_lines(in);
}

std::string only_error(const std::string& text) {
  auto b = read(text);
  REQUIRE(b.errors.size() == 1);
  return b.errors[0];
}

bool mentions(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("cli_batch") {
  TEST_CASE("every field of submit, with line numbers, blank lines skipped") {
    auto b = read(
        "{\"script\": \"a.py\"}\n"
        "\n"
        "   \n"
        "{\"op\": \"submit\", \"script\": \"b.py\", \"func\": \"f\", \"args\": [1, \"base64:AA==\"],"
        " \"kwargs\": {\"k\": null}, \"type\": \"cpu\", \"id\": \"t-1\", \"timeout_ms\": 5,"
        " \"max_retries\": 0, \"delay_ms\": 6, \"retries\": 2, \"retry_on\": [\"timeout\"],"
        " \"retry_backoff_ms\": 7, \"output\": true}\r\n");
    REQUIRE(b.errors.empty());
    REQUIRE(b.tasks.size() == 2);
    CHECK(b.tasks[0].line == 1);
    CHECK(b.tasks[0].args.script == "a.py");
    CHECK(b.tasks[0].args.args_msgpack.empty());
    CHECK(b.tasks[1].line == 4);
    const auto& a = b.tasks[1].args;
    CHECK(a.script == "b.py");
    CHECK(a.func == "f");
    std::string args, kwargs;
    common::MsgpackWriter(args).array(2).u64(1).bin(std::string(1, '\0'));
    common::MsgpackWriter(kwargs).map(1).str("k").nil();
    CHECK(a.args_msgpack == args);
    CHECK(a.kwargs_msgpack == kwargs);
    CHECK(a.type == "cpu");
    CHECK(a.id == "t-1");
    CHECK(a.timeout_ms == 5);
    CHECK(a.max_retries == 0u);
    CHECK(a.delay_ms == 6);
    CHECK(a.retries == 2u);
    CHECK(a.retry_on == std::vector<std::string>{"timeout"});
    CHECK(a.retry_backoff_ms == 7u);
    CHECK(a.output);
  }

  TEST_CASE("each malformed line is named with what is wrong") {
    CHECK(mentions(only_error("{\"script\": \"a.py\"}\n[1]\n"), "line 2: a line must be a JSON object"));
    CHECK(mentions(only_error("{\"script\": \"a.py\",}\n"), "line 1: not valid JSON at line 1, column 19"));
    CHECK(mentions(only_error("{\"func\": \"f\"}\n"), "line 1: 'script' is required"));
    CHECK(mentions(only_error("{\"script\": 1}\n"), "'script' must be a string, got 1"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"scirpt\": 1}\n"), "unknown field 'scirpt'"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"args\": {}}\n"), "'args' must be a JSON array"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"kwargs\": []}\n"), "'kwargs' must be a JSON object"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"timeout_ms\": -1}\n"), "'timeout_ms' must be an integer"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"delay_ms\": 1.5}\n"), "'delay_ms' must be an integer"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"retries\": 4294967296}\n"), "from 0 to 4294967295"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"retry_on\": [1]}\n"), "'retry_on' must be an array of strings"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"output\": 1}\n"), "'output' must be true or false"));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"op\": \"get\"}\n"), "'op' may only be \"submit\""));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"args\": [\"base64:!\"]}\n"), "at /args/0: "));
    CHECK(mentions(only_error("{\"script\": \"a.py\", \"args\": [1e999]}\n"), "out of range"));
  }

  TEST_CASE("all lines are read: every error is reported, good lines kept apart") {
    auto b = read("{\"script\": \"a.py\"}\nnope\n{\"script\": \"b.py\"}\n{}\n");
    CHECK(b.tasks.size() == 2);
    REQUIRE(b.errors.size() == 2);
    CHECK(b.errors[0].starts_with("line 2: "));
    CHECK(b.errors[1].starts_with("line 4: "));
  }

  TEST_CASE("a last line without newline counts; empty input is no tasks") {
    CHECK(read("{\"script\": \"a.py\"}").tasks.size() == 1);
    auto b = read("");
    CHECK(b.tasks.empty());
    CHECK(b.errors.empty());
  }
}
