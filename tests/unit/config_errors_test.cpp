// Unit tests of zfleet_config errors: every kind of bad file is refused with
// exactly "<file>:<line>: <key>: <detail>".
#include <climits>
#include <cstdint>
#include <type_traits>

#include "config/schema.h"
#include "tests/unit/config_test_support.h"
#include "config/venv.h"

#include <filesystem>

#include "common/curve_keys.h"

using namespace zfleet::config;
using namespace config_testing;

TEST_SUITE("config_errors") {
  TEST_CASE("adaptive pools: min/max against processes, order, negatives, the total cap") {
    expect_error("workers:\n  io:\n    processes: 2\n    min_processes: 1\n    max_processes: 3\n", 4,
                 "workers.io.min_processes", "a pool takes either `processes` (fixed) or min_processes/max_processes (adaptive), not both");
    expect_error("workers:\n  pools:\n    web: {max_processes: 3, processes: 1}\n", 3,
                 "workers.pools.web.max_processes",
                 "a pool takes either `processes` (fixed) or min_processes/max_processes (adaptive), not both");
    expect_error("workers:\n  cpu:\n    min_processes: 4\n    max_processes: 2\n", 3,
                 "workers.cpu.min_processes", "is 4, more than max_processes (2)");
    expect_error("workers:\n  io:\n    min_processes: 1\n", 3, "workers.io.min_processes",
                 "needs max_processes (the most processes the pool may grow to)");
    expect_error("workers:\n  io:\n    max_processes: 0\n", 3, "workers.io.max_processes",
                 "must be at least 1 (a pool of 0 processes cannot grow)");
    expect_error("workers:\n  io:\n    min_processes: -1\n    max_processes: 2\n", 3,
                 "workers.io.min_processes", "must be >= 0 (got -1)");
    expect_error("workers:\n  io:\n    max_processes: 2\n    cooldown_ms: -5\n", 4, "workers.io.cooldown_ms",
                 "must be >= 0 (got -5)");
    expect_error("workers:\n  io:\n    processes: 2\n    scale_up_after_ms: 100\n", 4,
                 "workers.io.scale_up_after_ms", "only for an adaptive pool (one with max_processes)");
    expect_error("workers:\n  io: {processes: 3}\n  cpu: {min_processes: 2, max_processes: 4}\n"
                 "  max_total_processes: 4\n", 4, "workers.max_total_processes",
                 "is 4, under the 5 processes the pools need at least (fixed pools' processes plus adaptive "
                 "pools' min_processes)");
    const FleetConfig ok = parse_config(
        "workers:\n  io: {processes: 0}\n  cpu: {min_processes: 1, max_processes: 3, cooldown_ms: 0}\n"
        "  max_total_processes: 3\n", "inline.yaml", "");
    CHECK(ok.workers.cpu.scales());
    CHECK(ok.workers.cpu.local_max() == 3);
    CHECK(ok.workers.cpu.min_processes == 1);
    CHECK(ok.workers.cpu.cooldown_ms == 0);
    CHECK(ok.workers.max_total_processes == 3);
    CHECK_FALSE(ok.workers.io.scales());
  }

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

  TEST_CASE("issue 11 limits: new keys, tightened bounds, worker_hwm against capacity") {
    expect_error("broker:\n  max_message_bytes: 1073741825\n", 2, "broker.max_message_bytes",
                 "must be <= 1073741824 (got 1073741825)");
    expect_error("broker:\n  max_result_bytes: 0\n", 2, "broker.max_result_bytes",
                 "must be >= 1 (got 0)");
    expect_error("broker:\n  max_result_bytes: 1073741825\n", 2, "broker.max_result_bytes",
                 "must be <= 1073741824 (got 1073741825)");
    expect_error("broker:\n  max_waiters: 0\n", 2, "broker.max_waiters", "must be >= 1 (got 0)");
    expect_error("broker:\n  max_delayed: 0\n", 2, "broker.max_delayed", "must be >= 1 (got 0)");
    expect_error("broker:\n  max_live: 0\n", 2, "broker.max_live", "must be >= 1 (got 0)");
    expect_error("broker:\n  task_timeout_ms: 4294967296\n", 2, "broker.task_timeout_ms",
                 "must be <= 4294967295 (got 4294967296)");
    expect_error("broker:\n  worker_hwm: 2111\n", 2, "broker.worker_hwm",
                 "must be >= 2 x (workers.max_threads + workers.prefetch) = 2112 (got 2111)");
    // Raising a worker's capacity past the default worker_hwm names the
    // key that must follow (it is not in the file: no line).
    FleetConfig c = default_config();
    c.workers.max_threads = 65536;
    c.workers.prefetch = 1000;
    CHECK_THROWS_WITH_AS(validate(c),
                         "<defaults>: broker.worker_hwm: must be >= 2 x (workers.max_threads + "
                         "workers.prefetch) = 133072 (got 100000)",
                         ConfigError);
    c.broker.worker_hwm = 133072;
    CHECK_NOTHROW(validate(c));
  }

  TEST_CASE("no accepted value overflows what the broker computes from it") {
    FleetConfig c = default_config();
    schema::for_each_number(c, [](std::string_view, auto& v, schema::Bounds b) {
      v = static_cast<std::remove_reference_t<decltype(v)>>(b.max);
    });
    const uint64_t i64 = INT64_MAX;
    // ZMQ_MAXMSGSIZE of the public and backend ROUTERs (an int64).
    CHECK(c.broker.max_message_bytes * 2 + 65536 <= i64);
    // A whole message is summed in a size_t next to the identity frame.
    CHECK(c.broker.max_message_bytes * 2 + 65536 + 255 <= SIZE_MAX);
    // worker_hwm is an int and must reach 2 x the largest capacity.
    CHECK(2 * (uint64_t(c.workers.max_threads) + uint64_t(c.workers.prefetch)) <= schema::kMaxInt);
    // The liveness window, in ms as an int (worker) and in us (broker).
    CHECK(uint64_t(c.workers.heartbeat_ms) * uint64_t(c.workers.liveness) <= schema::kMaxInt);
    CHECK(uint64_t(c.workers.heartbeat_ms) * (5 + uint64_t(c.workers.liveness)) * 1000 <= i64);
    // Deadlines: now (in us, here the year 2200) plus a duration in us.
    const uint64_t now_us = 7'258'118'400'000'000ULL;
    for (uint64_t ms : {c.broker.task_timeout_ms, c.broker.drain_timeout_ms, c.broker.max_delay_ms,
                        c.broker.max_retry_backoff_ms, c.workers.kill_grace_ms, c.cache.ttl_s * 1000}) {
      CAPTURE(ms);
      CHECK(now_us + ms * 1000 <= i64);
    }
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

  TEST_CASE("booleans are true or false only") {
    expect_error("broker:\n  allow_insecure: yes\n", 2, "broker.allow_insecure",
                 "expected true or false, got \"yes\"");
    expect_error("broker:\n  allow_insecure: \"true\"\n", 2, "broker.allow_insecure",
                 "expected true or false, got \"true\"");
    expect_error("broker:\n  allow_insecure: 1\n", 2, "broker.allow_insecure", "expected true or false, got \"1\"");
  }

  TEST_CASE("without security, endpoints stay on loopback unless allow_insecure says otherwise") {
    expect_error("broker:\n  frontend: tcp://127.0.0.1:7001\n  backend: tcp://0.0.0.0:7002\n", 3, "broker.backend",
                 "\"tcp://0.0.0.0:7002\" is not a loopback address, and without a `security` section anyone who "
                 "reaches it could run code; add `security` (CURVE keys, docs/security.md) or set "
                 "broker.allow_insecure: true");
    expect_error("broker:\n  results: tcp://eth0:7003\n", 2, "broker.results",
                 "\"tcp://eth0:7003\" is not a loopback address, and without a `security` section anyone who "
                 "reaches it could run code; add `security` (CURVE keys, docs/security.md) or set "
                 "broker.allow_insecure: true");
    TempDir dir;
    for (const char* ok : {"broker:\n  frontend: tcp://0.0.0.0:7001\n  allow_insecure: true\n",
                           "broker:\n  frontend: tcp://localhost:7001\n  status: ipc:///tmp/x\n",
                           "broker:\n  frontend: tcp://127.0.0.2:7001\n  backend: tcp://[::1]:7002\n"}) {
      CAPTURE(ok);
      CHECK_NOTHROW(load_config_file(dir.write("ok.yaml", ok)));
    }
  }

  TEST_CASE("security: every key file is read at load; errors name file, line and key") {
    TempDir dir;
    auto write_pair = [&](const std::string& name) {
      auto k = zfleet::common::generate_key_pair();
      REQUIRE(k.has_value());
      std::filesystem::create_directories(std::filesystem::path(dir.str() + "/" + name).parent_path());
      REQUIRE(zfleet::common::write_key_pair(dir.str() + "/" + name, *k).has_value());
    };
    write_pair("keys/broker");
    write_pair("keys/w/w1");
    write_pair("keys/other");
    dir.write("tasks/.keep", "");  // the broker checks its local workers' script root too
    const std::string good = "security:\n  secret_key: keys/broker.key\n  producers: [keys/w]\n"
                             "  clients: [keys/w/w1.pub]\n  workers: [keys/w]\n  worker_key: keys/w/w1.key\n";
    FleetConfig c = load_config_file(dir.write("good.yaml", good), Role::broker);
    CHECK(c.security.enabled());
    CHECK(c.security.secret_key == dir.str() + "/keys/broker.key");
    CHECK(c.security.producers == std::vector<std::string>{dir.str() + "/keys/w"});
    // With security, a public address is fine.
    CHECK_NOTHROW(load_config_file(dir.write("open.yaml", "broker: {frontend: \"tcp://0.0.0.0:7001\"}\n" + good),
                                   Role::broker));
    // Workers, the CLI and the bench load the same file without the keys.
    CHECK_NOTHROW(load_config_file(dir.write("peer.yaml", "security:\n  secret_key: elsewhere/broker.key\n")));
    struct Case {
      std::string from, to, key;
      int line;
      std::string detail;
    };
    for (const Case& k : std::vector<Case>{
             {"keys/broker.key", "keys/none.key", "security.secret_key", 2, dir.str() + "/keys/none.key: cannot read"},
             {"keys/broker.key", "keys/broker.pub", "security.secret_key", 2, "no valid `secret-key"},
             {"[keys/w]\n  clients", "[keys/nope]\n  clients", "security.producers", 3, "keys/nope"},
             {"[keys/w/w1.pub]", "[]", "security.clients", 4, "needs at least one .pub file"},
             {"worker_key: keys/w/w1.key", "worker_key: keys/other.key", "security.worker_key", 6,
              "its public key is not among security.workers"},
             {"  secret_key: keys/broker.key\n", "", "security.secret_key", 2, "required in a `security` section"},
         }) {
      std::string text = good;
      text.replace(text.find(k.from), k.from.size(), k.to);
      std::string file = dir.write("bad.yaml", text);
      CAPTURE(text);
      ConfigError e = error_loading(file, Role::broker);
      CHECK(e.key() == k.key);
      CHECK(e.line() == k.line);
      CHECK(e.detail().find(k.detail) != std::string::npos);
    }
  }

  TEST_CASE("broker: a local pool's venv of another Python version stops the load at its key") {
    TempDir dir;
    dir.write("tasks/.keep", "");
    dir.write("venvs/old/pyvenv.cfg", "home = /opt/py32/bin\nversion = 3.2.0\n");
    dir.write("venvs/old/bin/python3", "");
    const PythonVersion built = built_python_version();
    dir.write("venvs/ok/pyvenv.cfg", "version = " + built.str() + ".1\n");
    dir.write("venvs/ok/bin/python3", "");
    const std::string yaml = "workers:\n  pools:\n    old: {processes: 1, venv: venvs/old}\n";
    ConfigError e = error_loading(dir.write("old.yaml", yaml), Role::broker);
    CHECK(e.key() == "workers.pools.old.venv");
    CHECK(e.line() == 3);
    CHECK(e.detail().find("venv " + dir.str() + "/venvs/old was made with Python 3.2.0") != std::string::npos);
    CHECK(e.detail().find("embeds Python " + built.str()) != std::string::npos);
    CHECK_NOTHROW(load_config_file(dir.write("ok.yaml", "python: {venv: venvs/ok}\n"), Role::broker));
    // A pool of hand-started workers only: their own hosts check it.
    CHECK_NOTHROW(load_config_file(
        dir.write("hand.yaml", "workers:\n  pools:\n    old: {processes: 0, venv: venvs/old}\n"), Role::broker));
  }
}
