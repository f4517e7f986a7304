// Unit tests of zfleet_config: real YAML files in a temporary folder, loaded
// through load_config_file, and every error checked for its exact message
// (file, line, key, detail).

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config_loader.h"
#include "config/schema.h"

namespace fs = std::filesystem;
using namespace zfleet::config;

namespace {

// A fresh folder under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("zfleet_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` inside the folder; returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string source_file(const std::string& relative) {
  return std::string(ZFLEET_SOURCE_DIR) + "/" + relative;
}

// The ConfigError that loading `file` must raise.
ConfigError error_loading(const std::string& file) {
  try {
    (void)load_config_file(file);
  } catch (const ConfigError& e) {
    return e;
  }
  FAIL("no ConfigError from " << file << ":\n" << read_text(file));
  throw std::logic_error("unreachable");
}

// Writes `yaml` to a temp fleet.yaml and checks the error it raises:
// exactly "<file>:<line>: <key>: <detail>".
void expect_error(const std::string& yaml, int line, const std::string& key,
                  const std::string& detail) {
  TempDir dir;
  std::string file = dir.write("fleet.yaml", yaml);
  ConfigError e = error_loading(file);
  CHECK(e.file() == file);
  CHECK(e.line() == line);
  CHECK(e.key() == key);
  CHECK(e.detail() == detail);
  std::string where = file + ":" + std::to_string(line) + ": ";
  CHECK(std::string(e.what()) == where + (key.empty() ? "" : key + ": ") + detail);
}

// Everything that does not depend on where the config came from.
void check_default_values(const FleetConfig& c) {
  CHECK(c.broker == BrokerConfig{});
  CHECK(c.cache == CacheConfig{});
  CHECK(c.workers == WorkersConfig{});
  CHECK(c.logging == LoggingConfig{});
}

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("defaults are the documented values") {
    FleetConfig c = default_config();
    CHECK(c.source == "<defaults>");
    CHECK(c.broker.frontend == "tcp://127.0.0.1:5555");
    CHECK(c.broker.results == "tcp://127.0.0.1:5558");
    CHECK(c.broker.backend == "tcp://127.0.0.1:5556");
    CHECK(c.broker.status == "tcp://127.0.0.1:5557");
    CHECK(c.broker.queue_threads == 4);
    CHECK(c.broker.result_threads == 2);
    CHECK(c.broker.max_queued == 1000000);
    CHECK(c.broker.max_batch == 10000);
    CHECK(c.broker.max_message_bytes == 16777216);
    CHECK(c.broker.client_hwm == 100000);
    CHECK(c.broker.task_timeout_ms == 300000);
    CHECK(c.broker.drain_timeout_ms == 10000);
    CHECK(c.cache.shards == 16);
    CHECK(c.cache.max_entries == 1000000);
    CHECK(c.cache.max_bytes == 536870912);
    CHECK(c.cache.ttl_s == 3600);
    CHECK(c.workers.heartbeat_ms == 250);
    CHECK(c.workers.liveness == 4);
    CHECK(c.workers.io == PoolConfig{4, 10});
    CHECK(c.workers.cpu == PoolConfig{2, 1});
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
  task_timeout_ms: +1
  drain_timeout_ms: 0
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
    CHECK(c.broker.queue_threads == 64);
    CHECK(c.broker.result_threads == 3);
    CHECK(c.broker.max_queued == 18446744073709551615ULL);
    CHECK(c.broker.max_batch == 4294967295U);
    CHECK(c.broker.max_message_bytes == 1024);
    CHECK(c.broker.client_hwm == 7);
    CHECK(c.broker.task_timeout_ms == 1);
    CHECK(c.broker.drain_timeout_ms == 0);
    CHECK(c.cache.shards == 4096);
    CHECK(c.cache.max_entries == 11);
    CHECK(c.cache.max_bytes == 12);
    CHECK(c.cache.ttl_s == 13);
    CHECK(c.workers.heartbeat_ms == 10);
    CHECK(c.workers.liveness == 100);
    CHECK(c.workers.io == PoolConfig{0, 1024});
    CHECK(c.workers.cpu == PoolConfig{256, 3});
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
    check_key(schema::kScriptRootsKey);
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
