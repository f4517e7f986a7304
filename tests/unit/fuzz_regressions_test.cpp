// Regression tests for what the libFuzzer targets (tests/fuzz, tools/fuzz)
// found, one case per finding, named after the target and holding the input
// it saved (issue 11, point 6).
//
// A finding that hung or ate memory runs in a child process under a time
// limit, so that a regression fails this test instead of stalling ctest.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "config/config_loader.h"
#include "tools/cli/json_value.h"

namespace {

// Runs `body` in a child process, which exits with what it returns; the
// child is killed by SIGALRM after `seconds`. Returns the exit code, or -1
// when the child did not exit normally (killed, crashed, timed out).
int in_child(unsigned seconds, const std::function<int()>& body) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(seconds);
    int code = 3;
    try {
      code = body();
    } catch (...) {
      code = 4;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// 0 when parse_config refuses `yaml` with a ConfigError at `line` whose
// detail starts with "YAML syntax error"; 1 when it accepts it, 2 when the
// error is another one.
int refused_as_syntax_error(const std::string& yaml, int line) {
  try {
    zfleet::config::parse_config(yaml, "fuzz.yaml", "/fuzz/base");
    return 1;
  } catch (const zfleet::config::ConfigError& e) {
    return e.line() == line && e.detail().starts_with("YAML syntax error") ? 0 : 2;
  }
}

}  // namespace

TEST_SUITE("fuzz_regressions") {
  // fuzz_config, input ",&&&...&hrs*threuads: 0": yaml-cpp 0.7's LoadAll
  // never returned on a stream whose first token it cannot place (a lone ","
  // is enough), allocating a null document per turn until memory ran out.
  // config_loader.cpp now checks that the parser makes progress.
  TEST_CASE("config: a stray flow entry is a syntax error, not a hang") {
    CHECK(in_child(20, [] { return refused_as_syntax_error(",\n", 1); }) == 0);
    CHECK(in_child(20, [] {
            return refused_as_syntax_error(",&&&&&&&&&&&&&&&&&&&&&&&&&&&&hrs*threuads: 0\n", 1);
          }) == 0);
    CHECK(in_child(20, [] { return refused_as_syntax_error("# header\n\n  ,a\n", 3); }) == 0);
  }

  // fuzz_cli_json, input {"<170 control characters and colons>": null}
  // rendered by to_json: JSON was parsed as YAML flow syntax, and YAML limits
  // an implicit map key to 1024 characters as written, so a longer object
  // key was refused. The CLI now parses JSON with nlohmann-json, which has
  // no such limit: such keys are accepted and round-trip.
  TEST_CASE("cli_json: an object key over 1024 characters is accepted") {
    std::string key(1030, 'a');
    CHECK(zfleet::cli::json_to_msgpack("{\"" + key + "\": 1}").has_value());
    std::string escaped;
    for (int i = 0; i < 174; ++i) escaped += "\\u000f";  // 1044 characters as written
    CHECK(zfleet::cli::json_to_msgpack("{\"" + escaped + "\": null}").has_value());
  }

  TEST_CASE("config: documents that do parse are still read") {
    auto cfg = zfleet::config::parse_config("cache: {ttl_s: 60}\n---\n", "ok.yaml", "/base");
    CHECK(cfg.cache.ttl_s == 60);
    CHECK_THROWS_AS(zfleet::config::parse_config("cache: {ttl_s: 60}\n---\nlogging: {}\n", "two.yaml", "/base"),
                    zfleet::config::ConfigError);
  }
}
