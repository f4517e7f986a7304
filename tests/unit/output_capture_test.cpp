// Unit tests of task output: the pure parts (worker/exec/output_buffer.h:
// the cap and its UTF-8 cut, line splitting, escaping) and, with the real
// embedded interpreter, TaskOutputScope through TaskRunner (what a task
// writes comes back only when asked for, per thread, in write order).

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/python_test_support.h"
#include "worker/exec/gil.h"
#include "worker/exec/output_buffer.h"
#include "worker/exec/output_capture.h"
#include "worker/exec/task_runner.h"

namespace fs = std::filesystem;
using namespace zfleet::worker;

namespace {

std::vector<std::string> split(const std::vector<std::string>& writes) {
  LineSplitter s;
  std::vector<std::string> lines;
  auto emit = [&](std::string_view l) { lines.emplace_back(l); };
  for (const auto& w : writes) s.append(w, emit);
  s.flush(emit);
  return lines;
}

class CaptureScripts {
 public:
  explicit CaptureScripts(OutputPolicy policy = {}) {
    testing::runtime();
    root_ = testing::fresh_temp_dir("zfleet_output_capture_test");
    runner_ = std::make_unique<TaskRunner>(std::vector<std::string>{root_.string()}, policy);
    std::ofstream(root_ / "talk.py") << "import sys, logging\n"
                                        "def main(n=1):\n"
                                        "    for i in range(n):\n"
                                        "        print('line', i)\n"
                                        "    sys.stderr.write('err\\n')\n"
                                        "    logging.getLogger('t').error('logged')\n"
                                        "    return n\n";
  }
  ~CaptureScripts() {
    runner_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TaskOutput run(bool capture, const std::string& args = "") {
    TaskInput in;
    in.id = "t1";
    in.script = "talk.py";
    in.func = "main";
    in.args_msgpack = args;
    in.capture_output = capture;
    return runner_->run(in);
  }
  TaskRunner& runner() { return *runner_; }

 private:
  fs::path root_;
  std::unique_ptr<TaskRunner> runner_;
};

}  // namespace

TEST_SUITE("output_capture") {
  TEST_CASE("under the cap everything is kept, unmarked") {
    OutputBuffer b(100);
    b.append("hello ");
    b.append("world\n");
    CHECK(b.finish() == "hello world\n");
    CHECK(b.total_bytes() == 12);
    CHECK(OutputBuffer(100).finish().empty());
  }

  TEST_CASE("past the cap the rest is dropped and counted") {
    OutputBuffer b(10);
    b.append("0123456789\n");
    b.append("more text");
    CHECK(b.finish() == "0123456789\n[output truncated: 10 bytes dropped]");
    OutputBuffer exact(4);
    exact.append("abc\n");
    CHECK(exact.finish() == "abc\n");  // exactly the cap: nothing dropped
    OutputBuffer zero(0);
    zero.append("abc");
    CHECK(zero.finish() == "[output truncated: 3 bytes dropped]");
  }

  TEST_CASE("the cut never splits a UTF-8 character") {
    // "é" is C3 A9; "€" E2 82 AC; "😀" F0 9F 98 80.
    OutputBuffer two(2);
    two.append("aé");
    CHECK(two.finish() == "a\n[output truncated: 2 bytes dropped]");
    OutputBuffer three(3);
    three.append("a€b");
    CHECK(three.finish() == "a\n[output truncated: 4 bytes dropped]");
    OutputBuffer four(4);
    four.append("😀x");
    CHECK(four.finish() == "😀\n[output truncated: 1 bytes dropped]");
    CHECK(utf8_prefix("😀", 3) == 0);
    CHECK(utf8_prefix("😀", 4) == 4);
    CHECK(utf8_prefix("aé", 2) == 1);
    CHECK(utf8_prefix("aé", 3) == 3);
    CHECK(utf8_prefix("abc", 10) == 3);
    CHECK(utf8_prefix("", 5) == 0);
  }

  TEST_CASE("lines are split on newlines across writes; the rest comes on flush") {
    CHECK(split({"a", "b\nc", "\n", "d"}) == std::vector<std::string>{"ab", "c", "d"});
    CHECK(split({"\n\n"}) == std::vector<std::string>{"", ""});
    CHECK(split({}).empty());
  }

  TEST_CASE("a runaway line is emitted in pieces, at character boundaries") {
    std::string big(LineSplitter::kMaxLine + 10, 'x');
    auto lines = split({big});
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].size() == LineSplitter::kMaxLine);
    CHECK(lines[1].size() == 10);
    std::string accents;
    for (std::size_t i = 0; i < LineSplitter::kMaxLine; ++i) accents += "é";
    for (const auto& l : split({"x" + accents})) CHECK(utf8_prefix(l, l.size()) == l.size());
  }

  TEST_CASE("control characters are escaped, tabs and UTF-8 kept") {
    CHECK(escape_controls("a\tb") == "a\tb");
    CHECK(escape_controls("a\nb\rc") == "a\\nb\\rc");
    CHECK(escape_controls("\x1b[31mred\x7f") == "\\x1b[31mred\\x7f");
    CHECK(escape_controls("é") == "é");
  }

  TEST_CASE("a task's output comes back only when asked for, in write order") {
    CaptureScripts s;
    TaskOutput quiet = s.run(false);
    REQUIRE(quiet.ok);
    CHECK(quiet.output.empty());
    TaskOutput loud = s.run(true);
    REQUIRE(loud.ok);
    CHECK(loud.output == "line 0\nerr\nERROR:t:logged\n");
  }

  TEST_CASE("the policy: every task's output, capped") {
    CaptureScripts s(OutputPolicy{true, 20});
    TaskOutput out = s.run(false, testing::packed(std::vector<int>{3}));
    REQUIRE(out.ok);
    CHECK(out.output == "line 0\nline 1\nline 2\n[output truncated: 20 bytes dropped]");
  }

  TEST_CASE("tasks on several threads keep their own output") {
    CaptureScripts s;
    std::vector<TaskOutput> outs(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] { outs[i] = s.run(true, testing::packed(std::vector<int>{50 + i})); });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < 4; ++i) {
      REQUIRE(outs[i].ok);
      std::string expected;
      for (int k = 0; k < 50 + i; ++k) expected += "line " + std::to_string(k) + "\n";
      CHECK(outs[i].output == expected + "err\nERROR:t:logged\n");
    }
  }

  TEST_CASE("scopes nest and restore the previous one") {
    testing::runtime();
    GilAcquire gil;
    CHECK(TaskOutputScope::current() == nullptr);
    {
      TaskOutputScope outer("outer", true, 100);
      {
        TaskOutputScope inner("inner", true, 100);
        CHECK(TaskOutputScope::current() == &inner);
        inner.write(TaskOutputScope::kStdout, "in\n");
        CHECK(inner.finish() == "in\n");
      }
      CHECK(TaskOutputScope::current() == &outer);
      outer.write(TaskOutputScope::kStderr, "out");
      CHECK(outer.finish() == "out");
    }
    CHECK(TaskOutputScope::current() == nullptr);
  }
}
