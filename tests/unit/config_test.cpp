// Unit tests of zfleet_config: defaults, real YAML files loaded through
// load_config_file, the shipped files, validate() and resolve_path. The
// error messages are checked in config_errors_test.cpp.
#include "config/schema.h"
#include "tests/unit/config_test_support.h"

using namespace zfleet::config;
using namespace config_testing;

TEST_SUITE("config") {
  TEST_CASE("defaults are the documented values") {
    FleetConfig c = default_config();
    CHECK(c.source == "<defaults>");
    CHECK(c.broker.frontend == "tcp://127.0.0.1:5555");
    CHECK(c.broker.results == "tcp://127.0.0.1:5558");
    CHECK(c.broker.backend == "tcp://127.0.0.1:5556");
    CHECK(c.broker.status == "tcp://127.0.0.1:5557");
    CHECK(c.broker.queue_threads == 1);  // PROTOCOL.md's default: no proxy hop
    CHECK(c.broker.result_threads == 1);
    CHECK(c.broker.max_queued == 1000000);
    CHECK(c.broker.max_batch == 10000);
    CHECK(c.broker.max_message_bytes == 16777216);
    CHECK(c.broker.client_hwm == 100000);
    CHECK(c.broker.max_delayed == 1000000);
    CHECK(c.broker.max_live == 4000000);
    CHECK(c.broker.max_result_bytes == 16777216);
    CHECK(c.broker.max_waiters == 1000000);
    CHECK(c.broker.worker_hwm == 100000);
    CHECK(c.broker.task_timeout_ms == 300000);
    CHECK(c.broker.drain_timeout_ms == 10000);
    CHECK(c.cache.shards == 16);
    CHECK(c.cache.max_entries == 1000000);
    CHECK(c.cache.max_bytes == 536870912);
    CHECK(c.cache.ttl_s == 3600);
    CHECK(c.workers.heartbeat_ms == 250);
    CHECK(c.workers.liveness == 4);
    CHECK(c.workers.io.processes == 4);
    CHECK(c.workers.io.threads == 10);
    CHECK(c.workers.cpu.processes == 2);
    CHECK(c.workers.cpu.threads == 1);
    CHECK(c.workers.io.script_roots == c.python.script_roots);
    CHECK(c.workers == default_workers(c));
    CHECK(c.workers.prefetch == 32);
    CHECK(c.workers.kill_grace_ms == 5000);
    CHECK(c.logging.level == "info");
    REQUIRE(c.python.script_roots.size() == 1);
    CHECK(c.python.script_roots[0] == (fs::current_path() / "tasks").string());
    CHECK_NOTHROW(validate(c));
  }

  TEST_CASE("empty, comment-only and empty-section files give the defaults") {
    TempDir dir;
    for (const std::string yaml :
         {"", "# nothing here\n\n# at all\n", "broker:\n  # frontend: x\n", "---\n", "~\n"}) {
      CAPTURE(yaml);
      std::string file = dir.write("fleet.yaml", yaml);
      FleetConfig c = load_config_file(file);
      CHECK(c.source == file);
      check_default_values(c);
      CHECK(c.python.script_roots == std::vector<std::string>{dir.str() + "/tasks"});
    }
  }

  TEST_CASE("a full file fills every field") {
    TempDir dir;
    std::string file = dir.write("full.yaml", R"(# every key, none at its default
broker:
  frontend: tcp://*:6555
  results: ipc:///tmp/zfleet-results
  backend: tcp://0.0.0.0:6556
  status: inproc://status
  queue_threads: 64
  result_threads: 3
  max_queued: 18446744073709551615
  max_batch: 4294967295
  max_message_bytes: 1024
  client_hwm: 7
  max_delayed: 5
  max_live: 6
  max_result_bytes: 1000
  max_waiters: 8
  worker_hwm: 2058
  task_timeout_ms: +1
  drain_timeout_ms: 0
  allow_insecure: true
cache:
  shards: 4096
  max_entries: 11
  max_bytes: 12
  ttl_s: !!int 13
workers:
  heartbeat_ms: 10
  liveness: 100
  io: {processes: 0, threads: 1024}
  cpu:
    processes: 256
    threads: 3
  prefetch: 5
  kill_grace_ms: 0
python:
  script_roots:
    - /opt/zfleet/tasks
    - more
logging:
  level: critical
)");
    FleetConfig c = load_config_file(file);
    CHECK(c.source == file);
    CHECK(c.broker.frontend == "tcp://*:6555");
    CHECK(c.broker.results == "ipc:///tmp/zfleet-results");
    CHECK(c.broker.backend == "tcp://0.0.0.0:6556");
    CHECK(c.broker.status == "inproc://status");
    CHECK(c.broker.allow_insecure);
    CHECK(c.broker.queue_threads == 64);
    CHECK(c.broker.result_threads == 3);
    CHECK(c.broker.max_queued == 18446744073709551615ULL);
    CHECK(c.broker.max_batch == 4294967295U);
    CHECK(c.broker.max_message_bytes == 1024);
    CHECK(c.broker.client_hwm == 7);
    CHECK(c.broker.max_delayed == 5);
    CHECK(c.broker.max_live == 6);
    CHECK(c.broker.max_result_bytes == 1000);
    CHECK(c.broker.max_waiters == 8);
    CHECK(c.broker.worker_hwm == 2058);
    CHECK(c.broker.task_timeout_ms == 1);
    CHECK(c.broker.drain_timeout_ms == 0);
    CHECK(c.cache.shards == 4096);
    CHECK(c.cache.max_entries == 11);
    CHECK(c.cache.max_bytes == 12);
    CHECK(c.cache.ttl_s == 13);
    CHECK(c.workers.heartbeat_ms == 10);
    CHECK(c.workers.liveness == 100);
    CHECK(c.workers.io.processes == 0);
    CHECK(c.workers.io.threads == 1024);
    CHECK(c.workers.cpu.processes == 256);
    CHECK(c.workers.cpu.threads == 3);
    CHECK(c.workers.prefetch == 5);
    CHECK(c.workers.kill_grace_ms == 0);
    CHECK(c.python.script_roots ==
          std::vector<std::string>{"/opt/zfleet/tasks", dir.str() + "/more"});
    CHECK(c.logging.level == "critical");
    CHECK_NOTHROW(validate(c));
  }

  TEST_CASE("relative script roots resolve against the file's folder, absolute ones stay") {
    TempDir dir;
    std::string file = dir.write("etc/zfleet/fleet.yaml", R"(python:
  script_roots: [tasks, ./a/b/, ../shared/scripts, /srv/tasks/, /srv/x/../y]
)");
    FleetConfig c = load_config_file(file);
    std::string etc = dir.str() + "/etc";
    CHECK(c.python.script_roots ==
          std::vector<std::string>{etc + "/zfleet/tasks", etc + "/zfleet/a/b",
                                   etc + "/shared/scripts", "/srv/tasks", "/srv/y"});
    // parse_config makes a relative base_dir absolute against the current dir.
    FleetConfig p = parse_config("python: {script_roots: [t]}", "inline", "rel/base");
    CHECK(p.source == "inline");
    CHECK(p.python.script_roots ==
          std::vector<std::string>{(fs::current_path() / "rel/base/t").string()});
    // An empty list is allowed: workers then run builtin: tasks only.
    CHECK(parse_config("python: {script_roots: []}", "inline", "/b").python.script_roots.empty());
  }

  TEST_CASE("the shipped config/fleet.yaml loads and points at config/tasks") {
    std::string file = source_file("config/fleet.yaml");
    FleetConfig c = load_config_file(file);
    CHECK(c.source == file);
    std::string tasks = resolve_path(source_file("config/tasks"), "");
    REQUIRE(c.python.script_roots == std::vector<std::string>{tasks});
    for (const char* script : {"hello.py", "math_ops.py", "sleepy.py", "fail.py"}) {
      CAPTURE(script);
      CHECK(fs::is_regular_file(fs::path(tasks) / script));
    }
    CHECK(c.workers.io.processes >= 1);
    CHECK(c.workers.cpu.processes >= 1);
  }

  TEST_CASE("config/example-full.yaml equals the defaults except the script roots") {
    std::string file = source_file("config/example-full.yaml");
    FleetConfig c = load_config_file(file);
    check_default_values(c);
    CHECK(c.python.script_roots ==
          std::vector<std::string>{resolve_path(source_file("config/tasks"), "")});
  }

  TEST_CASE("every key appears in example-full.yaml and docs/config.md") {
    std::string example = read_text(source_file("config/example-full.yaml"));
    std::string docs = read_text(source_file("docs/config.md"));
    FleetConfig dummy;
    auto check_key = [&](std::string_view key, auto&&...) {
      std::string k(key);
      std::string leaf = k.substr(k.rfind('.') + 1);
      CAPTURE(k);
      CHECK(example.find(leaf + ":") != std::string::npos);
      CHECK(docs.find("`" + k + "`") != std::string::npos);
    };
    schema::for_each_number(dummy, check_key);
    schema::for_each_string(dummy, check_key);
    schema::for_each_bool(dummy, check_key);
    schema::for_each_path_list(dummy, check_key);
  }

  TEST_CASE("validate() checks a config changed in memory") {
    TempDir dir;
    std::string file = dir.write("fleet.yaml", "broker:\n  queue_threads: 2\n");
    FleetConfig c = load_config_file(file);
    CHECK_NOTHROW(validate(c));

    FleetConfig bad = c;
    bad.broker.queue_threads = 0;
    try {
      validate(bad);
      FAIL("validate accepted queue_threads 0");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == file + ": broker.queue_threads: must be >= 1 (got 0)");
      CHECK(e.line() == 0);
      CHECK(e.key() == "broker.queue_threads");
    }
    bad = c;
    bad.workers.io.processes = -1;
    CHECK_THROWS_WITH_AS(validate(bad),
                         (file + ": workers.io.processes: must be >= 0 (got -1)").c_str(),
                         ConfigError);
    bad = c;
    bad.logging.level = "loud";
    CHECK_THROWS_AS(validate(bad), ConfigError);
    bad = c;
    bad.broker.backend = "udp://x";
    CHECK_THROWS_WITH_AS(validate(bad),
                         (file + ": broker.backend: must start with tcp://, ipc:// or inproc:// "
                                 "(got \"udp://x\")")
                             .c_str(),
                         ConfigError);
    FleetConfig defaults = default_config();
    defaults.cache.shards = 5000;
    CHECK_THROWS_WITH_AS(validate(defaults), "<defaults>: cache.shards: must be <= 4096 (got 5000)",
                         ConfigError);
  }

  TEST_CASE("resolve_path normalises without touching the disk") {
    CHECK(resolve_path("tasks/", "/srv/zfleet") == "/srv/zfleet/tasks");
    CHECK(resolve_path("../x/./y", "/srv/zfleet") == "/srv/x/y");
    CHECK(resolve_path("/abs//p/", "/ignored") == "/abs/p");
    CHECK(resolve_path("t", "") == (fs::current_path() / "t").string());
  }
}
