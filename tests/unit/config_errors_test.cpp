// Unit tests of zfleet_config errors: every kind of bad file is refused with
// exactly "<file>:<line>: <key>: <detail>".
#include "tests/unit/config_test_support.h"

using namespace zfleet::config;
using namespace config_testing;

TEST_SUITE("config_errors") {
  TEST_CASE("unknown keys name file, line and dotted key") {
    expect_error("brokr:\n  frontend: tcp://x:1\n", 1, "brokr", "unknown key");
    expect_error("# a comment\nbroker:\n  frontnd: tcp://x:1\n", 3, "broker.frontnd",
                 "unknown key");
    expect_error("workers:\n  io:\n    processes: 1\n    thread: 2\n", 4, "workers.io.thread",
                 "unknown key");
    expect_error("workers: {cpu: {procs: 1}}\n", 1, "workers.cpu.procs", "unknown key");
    // A leaf is not a section: nothing may hang below it.
    expect_error("logging:\n  level:\n    name: info\n", 2, "logging.level",
                 "expected a string, got a map");
  }

  TEST_CASE("wrong types are rejected, never coerced") {
    expect_error("cache:\n  shards: many\n", 2, "cache.shards",
                 "expected an integer, got \"many\"");
    expect_error("broker:\n  queue_threads: 1.5\n", 2, "broker.queue_threads",
                 "expected an integer, got \"1.5\"");
    expect_error("broker:\n  max_batch: 1e3\n", 2, "broker.max_batch",
                 "expected an integer, got \"1e3\"");
    expect_error("broker:\n  queue_threads: true\n", 2, "broker.queue_threads",
                 "expected an integer, got \"true\"");
    expect_error("broker:\n  queue_threads: 0x10\n", 2, "broker.queue_threads",
                 "expected an integer, got \"0x10\"");
    expect_error("broker:\n  queue_threads: \"4\"\n", 2, "broker.queue_threads",
                 "expected an integer, got \"4\" (quoted, so a string)");
    expect_error("broker:\n  queue_threads:\n", 2, "broker.queue_threads",
                 "expected an integer, got no value");
    expect_error("broker:\n  queue_threads: [4]\n", 2, "broker.queue_threads",
                 "expected an integer, got a list");
    expect_error("\n\nbroker:\n  max_queued: -5\n", 4, "broker.max_queued",
                 "must be >= 1 (got -5)");
    expect_error("broker:\n  drain_timeout_ms: -1\n", 2, "broker.drain_timeout_ms",
                 "must be >= 0 (got -1)");
    expect_error("workers:\n  io: 4\n", 2, "workers.io", "expected a map, got \"4\"");
    expect_error("cache: [1, 2]\n", 1, "cache", "expected a map, got a list");
    expect_error("broker:\n  frontend: {host: x}\n", 2, "broker.frontend",
                 "expected a string, got a map");
    expect_error("python:\n  script_roots: {tasks: 1}\n", 2, "python.script_roots",
                 "expected a list of paths, got a map");
    expect_error("python:\n  script_roots: tasks\n", 2, "python.script_roots",
                 "expected a list of paths, got \"tasks\"");
    expect_error("python:\n  script_roots:\n    - a\n    - [b]\n", 4, "python.script_roots",
                 "entry 2: expected a path, got a list");
    expect_error("python:\n  script_roots:\n    - a\n    - \"\"\n", 4, "python.script_roots",
                 "entry 2 is an empty path");
    expect_error(
        "- broker\n- cache\n", 1, "",
        "expected a map of sections (broker, cache, workers, python, logging), got a list");
  }

  TEST_CASE("out-of-range values name the bound") {
    expect_error("broker:\n  queue_threads: 0\n", 2, "broker.queue_threads",
                 "must be >= 1 (got 0)");
    expect_error("broker:\n  queue_threads: 65\n", 2, "broker.queue_threads",
                 "must be <= 64 (got 65)");
    expect_error("cache:\n  ttl_s: 1\n  shards: 0\n", 3, "cache.shards", "must be >= 1 (got 0)");
    expect_error("workers:\n  heartbeat_ms: 5\n", 2, "workers.heartbeat_ms",
                 "must be >= 10 (got 5)");
    expect_error("workers:\n  cpu: {processes: -1, threads: 1}\n", 2, "workers.cpu.processes",
                 "must be >= 0 (got -1)");
    expect_error("broker:\n  max_message_bytes: 1023\n", 2, "broker.max_message_bytes",
                 "must be >= 1024 (got 1023)");
    expect_error("cache:\n  max_entries: 99999999999999999999999\n", 2, "cache.max_entries",
                 "must be <= 18446744073709551615 (got 99999999999999999999999)");
    expect_error("broker:\n  client_hwm: 2147483648\n", 2, "broker.client_hwm",
                 "must be <= 2147483647 (got 2147483648)");
  }

  TEST_CASE("endpoints and log level are checked") {
    expect_error("broker:\n  queue_threads: 2\n  frontend: http://127.0.0.1:5555\n", 3,
                 "broker.frontend",
                 "must start with tcp://, ipc:// or inproc:// (got \"http://127.0.0.1:5555\")");
    expect_error("broker:\n  status: tcp://\n", 2, "broker.status",
                 "needs an address after tcp:// (got \"tcp://\")");
    expect_error("broker:\n  results: tcp://127.0.0.1:5555\n", 2, "broker.results",
                 "same endpoint as broker.frontend (\"tcp://127.0.0.1:5555\")");
    expect_error("logging:\n  level: verbose\n", 2, "logging.level",
                 "must be one of trace, debug, info, warn, error, critical, off (got \"verbose\")");
  }

  TEST_CASE("YAML structure errors name file and line") {
    expect_error("# c\nbroker:\n  queue_threads: 4\n  frontend: tcp://a: b\n", 4, "",
                 "YAML syntax error: illegal map value");
    expect_error("broker:\n  queue_threads: 4\n  queue_threads: 5\n", 3, "broker.queue_threads",
                 "duplicate key (first at line 2)");
    expect_error("broker: {}\n---\ncache: {}\n", 3, "",
                 "a config file holds one YAML document, found a second one");
  }

  TEST_CASE("an unreadable file names the path and the reason") {
    TempDir dir;
    std::string missing = dir.str() + "/nope.yaml";
    ConfigError e = error_loading(missing);
    CHECK(std::string(e.what()) ==
          missing + ": cannot read config file (No such file or directory)");
    CHECK(e.file() == missing);
    CHECK(e.line() == 0);
    CHECK(e.key().empty());
    ConfigError d = error_loading(dir.str());
    CHECK(std::string(d.what()) == dir.str() + ": cannot read config file (Is a directory)");
  }
}
