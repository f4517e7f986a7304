// FleetConfig: the typed form of a zfleet YAML configuration file
// (PROTOCOL.md "Configuration keys", plus the zfleet-only keys marked below).
// Owns nothing but values; each member's default is the built-in default, and
// its comment gives the accepted range. config/config_loader.h turns YAML into
// this struct and enforces the ranges; docs/config.md describes every key.
//
// Thread safety: plain values. Build one at start-up, then share it read-only
// (const&) with any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zfleet::config {

// `source` of a FleetConfig built by default_config() rather than from a file.
inline constexpr std::string_view kDefaultsSource = "<defaults>";

// One pool of workers (PROTOCOL.md: a task's `type` names a pool): workers.io,
// workers.cpu or workers.pools.NAME, all with the same keys. `processes`
// are the local workers `zfleet-broker` starts and restarts; hand-started
// `zfleet-worker --type NAME` processes join the pool too.
struct PoolConfig {
  std::string name;                 // io, cpu, or the key under workers.pools
  int processes = 1;                // >= 0 (<= 256); 0 = only hand-started workers
  int threads = 1;                  // >= 1 (<= 1024) executor threads per process
  uint64_t max_tasks_per_process = 0;  // 0 = never; else recycle a process after that many tasks
  uint64_t max_rss_mb = 0;          // 0 = never; else recycle a process whose RSS passes it
  bool capture_output = false;      // return every task's stdout/stderr with its result
  uint64_t max_output_bytes = 65536;  // cap on the output kept per task (0..2^30)
  // The Python of its workers; each is python.*'s unless the pool sets its
  // own (absolute after loading).
  std::vector<std::string> script_roots;
  std::string venv;                 // "" = none: Debian's /usr/bin/python3 as is
  std::vector<std::string> path;    // extra sys.path entries
  // Adaptive pools (issue 15): with max_processes > 0 the pool grows and
  // shrinks between min_processes and max_processes instead of running
  // `processes` (a file may set one or the other: validate_scaling.cpp).
  int min_processes = 0;            // 0..max_processes
  int max_processes = 0;            // 0 = a fixed pool
  uint64_t scale_up_after_ms = 500;     // oldest queued task waited this long, every slot busy
  uint64_t scale_down_after_ms = 30000; // busy slots fit in one process fewer this long
  uint64_t cooldown_ms = 1000;          // at least this long between two changes of the pool

  bool scales() const { return max_processes > 0; }
  // The most local processes the broker may run for it.
  int local_max() const { return scales() ? max_processes : processes; }

  bool operator==(const PoolConfig&) const = default;
};

// broker.journal: absent (empty path) = off.
struct JournalConfig {
  std::string path;               // a folder, created if missing; relative to the config file's
  std::string fsync = "always";   // always | every_ms | never
  uint64_t every_ms = 50;         // 1..60000, for fsync: every_ms

  bool enabled() const { return !path.empty(); }
  bool operator==(const JournalConfig&) const = default;
};

struct BrokerConfig {
  // Endpoints: "tcp://...", "ipc://..." or "inproc://...".
  std::string frontend = "tcp://127.0.0.1:5555";  // clients submit here
  std::string results = "tcp://127.0.0.1:5558";   // clients get/status here
  std::string backend = "tcp://127.0.0.1:5556";   // workers connect here
  std::string status = "tcp://127.0.0.1:5557";    // worker heartbeats
  // 1 and 1 (PROTOCOL.md): each endpoint owned by its one serving thread,
  // no proxy hop. More pay only where decoding is the bottleneck.
  int queue_threads = 1;                          // >= 1 (<= 64)
  int result_threads = 1;                         // zfleet key: >= 1 (<= 64)
  uint64_t max_queued = 1000000;                  // per task type, >= 1
  uint32_t max_batch = 10000;                     // >= 1
  uint64_t max_message_bytes = 16777216;          // 1024..2^30
  int client_hwm = 100000;                        // >= 1
  // Limits on what a peer can make the broker hold (issue 11; queue_full
  // or too_large when hit, docs/config.md):
  uint64_t max_delayed = 1000000;                 // per task type, >= 1: delayed submits not yet due
  uint64_t max_live = 4000000;                    // >= 1: tasks queued, delayed, running or retrying
  uint64_t max_result_bytes = 16777216;           // 1..2^30: largest result a task may return
  uint64_t max_waiters = 1000000;                 // >= 1: parked long-poll gets, whole broker
  int worker_hwm = 100000;                        // messages held per worker connection
  uint64_t task_timeout_ms = 300000;              // 1..2^32-1
  uint64_t drain_timeout_ms = 10000;              // zfleet key: >= 0, SIGTERM grace
  uint64_t max_retry_backoff_ms = 600000;         // >= 1, cap on a retry's backoff
  uint64_t max_delay_ms = 604800000;              // >= 0, largest submit delay_ms (7 days)
  bool allow_insecure = false;                    // without `security`, accept non-loopback endpoints
  std::string metrics;                            // HOST:PORT of GET /metrics (Prometheus); "" = off
  JournalConfig journal;

  bool operator==(const BrokerConfig&) const = default;
};

struct CacheConfig {
  int shards = 16;                 // >= 1 (<= 4096)
  uint64_t max_entries = 1000000;  // whole cache, >= 1
  uint64_t max_bytes = 536870912;  // whole cache, >= 1
  uint64_t ttl_s = 3600;           // >= 1

  bool operator==(const CacheConfig&) const = default;
};

struct WorkersConfig {
  int heartbeat_ms = 250;  // >= 10 (<= 60000)
  int liveness = 4;        // >= 1 (<= 100) missed heartbeats => dead
  PoolConfig io = named_pool("io", 4, 10);
  PoolConfig cpu = named_pool("cpu", 2, 1);
  std::vector<PoolConfig> pools;  // workers.pools, in file order
  int prefetch = 32;              // zfleet key: >= 0, most tasks beyond thread count (short tasks only)
  uint64_t kill_grace_ms = 5000;  // zfleet key: >= 0, see docs/config.md
  int max_threads = 1024;         // zfleet key: 1..65536, cap on the threads a worker may claim
  int max_total_processes = 0;    // cap on local processes of all pools together; 0 = none

  bool operator==(const WorkersConfig&) const = default;

  static PoolConfig named_pool(std::string name, int processes, int threads) {
    PoolConfig p;
    p.name = std::move(name);
    p.processes = processes;
    p.threads = threads;
    return p;
  }
  // io, cpu, then pools: the order of common::PoolId.
  std::vector<const PoolConfig*> all() const {
    std::vector<const PoolConfig*> v{&io, &cpu};
    for (const auto& p : pools) v.push_back(&p);
    return v;
  }
  std::vector<PoolConfig*> all() {
    std::vector<PoolConfig*> v{&io, &cpu};
    for (auto& p : pools) v.push_back(&p);
    return v;
  }
  const PoolConfig* find(std::string_view name) const {
    for (const PoolConfig* p : all()) {
      if (p->name == name) return p;
    }
    return nullptr;
  }
  std::vector<std::string> named() const {
    std::vector<std::string> v;
    for (const auto& p : pools) v.push_back(p.name);
    return v;
  }
};

// "workers.io", "workers.cpu" or "workers.pools.NAME": the key of a pool.
inline std::string pool_key(const PoolConfig& p) {
  return p.name == "io" || p.name == "cpu" ? "workers." + p.name : "workers.pools." + p.name;
}

struct PythonConfig {
  // After loading: absolute, lexically normalised paths (symlinks are NOT
  // resolved here; the worker does that when confining scripts).
  std::vector<std::string> script_roots = {"tasks"};
  std::string venv;               // a venv made by /usr/bin/python3 -m venv; "" = none
  std::vector<std::string> path;  // extra sys.path entries

  bool operator==(const PythonConfig&) const = default;
};

// security: absent (empty secret_key) = no CURVE. Paths are absolute after
// loading (relative ones are relative to the config file's folder); the
// loader checks every file is a readable key of the right kind.
struct SecurityConfig {
  std::string secret_key;              // the broker's .key file (zfleet keygen)
  std::vector<std::string> producers;  // .pub files or folders of them: frontend
  std::vector<std::string> clients;    // ... results endpoint
  std::vector<std::string> workers;    // ... backend and status endpoints
  std::string worker_key;              // .key the broker's local workers use

  bool enabled() const { return !secret_key.empty(); }
  bool operator==(const SecurityConfig&) const = default;
};

struct LoggingConfig {
  std::string level = "info";  // trace debug info warn error critical off
  std::string format = "text"; // text | json (one JSON object a line)

  bool operator==(const LoggingConfig&) const = default;
};

struct FleetConfig {
  std::string source;  // the config file's path as given, or kDefaultsSource
  BrokerConfig broker;
  CacheConfig cache;
  WorkersConfig workers;
  PythonConfig python;
  SecurityConfig security;
  LoggingConfig logging;

  bool operator==(const FleetConfig&) const = default;
};

}  // namespace zfleet::config
