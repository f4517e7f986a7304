// The schema of FleetConfig as data: every numeric key with its bounds and
// every string key, each listed exactly once. The loader (config_loader.cpp)
// uses it to know which keys exist and to read them; validate.cpp uses it to
// check ranges. Adding a key = one line here + the struct member + docs.
//
// Internal to zfleet_config; other components include config_loader.h.
// Thread safety: templates over the caller's config object; no state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "config/fleet_config.h"

namespace zfleet::config::schema {

// Inclusive range of a numeric key. No key accepts negative values.
struct Bounds {
  uint64_t min;
  uint64_t max;
};

// Durations are capped so that `now + duration` cannot overflow a
// std::chrono::milliseconds (int64) anywhere downstream: ~31 years.
inline constexpr uint64_t kMaxMillis = 1'000'000'000'000ULL;
inline constexpr uint64_t kMaxSeconds = kMaxMillis / 1000;
inline constexpr uint64_t kMaxInt = 2147483647ULL;
inline constexpr uint64_t kMaxU32 = 4294967295ULL;
// Message and result sizes: the broker computes `2 * max_message_bytes +
// 64 KiB` for ZMQ_MAXMSGSIZE (an int64), sums envelope and body sizes, and
// holds up to client_hwm such messages per connection; 1 GiB keeps every
// such sum far from overflow and is already more than a broker should take
// in one message.
inline constexpr uint64_t kMaxMessageBytes = 1ULL << 30;
inline constexpr uint64_t kMaxU64 = 18446744073709551615ULL;

// Calls visit(key, field&, Bounds) for every numeric key, in file order of
// config/example-full.yaml. `Cfg` is FleetConfig or const FleetConfig.
template <class Cfg, class Visit>
void for_each_number(Cfg& c, Visit&& visit) {
  visit("broker.queue_threads", c.broker.queue_threads, Bounds{1, 64});
  visit("broker.result_threads", c.broker.result_threads, Bounds{1, 64});
  visit("broker.max_queued", c.broker.max_queued, Bounds{1, kMaxU64});
  visit("broker.max_batch", c.broker.max_batch, Bounds{1, kMaxU32});
  visit("broker.max_message_bytes", c.broker.max_message_bytes, Bounds{1024, kMaxMessageBytes});
  visit("broker.client_hwm", c.broker.client_hwm, Bounds{1, kMaxInt});
  visit("broker.max_delayed", c.broker.max_delayed, Bounds{1, kMaxU64});
  visit("broker.max_live", c.broker.max_live, Bounds{1, kMaxU64});
  visit("broker.max_result_bytes", c.broker.max_result_bytes, Bounds{1, kMaxMessageBytes});
  visit("broker.max_waiters", c.broker.max_waiters, Bounds{1, kMaxU64});
  // At least 2 x (workers.max_threads + workers.prefetch): validate.cpp.
  visit("broker.worker_hwm", c.broker.worker_hwm, Bounds{1, kMaxInt});
  // A task keeps its timeout in 32 bits (task.h): a larger default would
  // be cut short silently.
  visit("broker.task_timeout_ms", c.broker.task_timeout_ms, Bounds{1, kMaxU32});
  visit("broker.drain_timeout_ms", c.broker.drain_timeout_ms, Bounds{0, kMaxMillis});
  visit("broker.max_retry_backoff_ms", c.broker.max_retry_backoff_ms, Bounds{1, kMaxMillis});
  visit("broker.max_delay_ms", c.broker.max_delay_ms, Bounds{0, kMaxMillis});
  visit("broker.journal.every_ms", c.broker.journal.every_ms, Bounds{1, 60000});
  visit("cache.shards", c.cache.shards, Bounds{1, 4096});
  visit("cache.max_entries", c.cache.max_entries, Bounds{1, kMaxU64});
  visit("cache.max_bytes", c.cache.max_bytes, Bounds{1, kMaxU64});
  visit("cache.ttl_s", c.cache.ttl_s, Bounds{1, kMaxSeconds});
  // heartbeat_ms * liveness must fit an int: 60000 * 100.
  visit("workers.heartbeat_ms", c.workers.heartbeat_ms, Bounds{10, 60000});
  visit("workers.liveness", c.workers.liveness, Bounds{1, 100});
  for (auto* p : c.workers.all()) {
    const std::string k = pool_key(*p);
    visit(k + ".processes", p->processes, Bounds{0, 256});
    visit(k + ".threads", p->threads, Bounds{1, 1024});
    visit(k + ".max_tasks_per_process", p->max_tasks_per_process, Bounds{0, kMaxU64});
    visit(k + ".max_rss_mb", p->max_rss_mb, Bounds{0, 1ULL << 30});
    visit(k + ".max_output_bytes", p->max_output_bytes, Bounds{0, kMaxMessageBytes});
    visit(k + ".min_processes", p->min_processes, Bounds{0, 256});
    visit(k + ".max_processes", p->max_processes, Bounds{0, 256});
    visit(k + ".scale_up_after_ms", p->scale_up_after_ms, Bounds{0, kMaxMillis});
    visit(k + ".scale_down_after_ms", p->scale_down_after_ms, Bounds{0, kMaxMillis});
    visit(k + ".cooldown_ms", p->cooldown_ms, Bounds{0, kMaxMillis});
  }
  visit("workers.max_total_processes", c.workers.max_total_processes, Bounds{0, 65536});
  visit("workers.prefetch", c.workers.prefetch, Bounds{0, 1000000});
  visit("workers.kill_grace_ms", c.workers.kill_grace_ms, Bounds{0, kMaxMillis});
  visit("workers.max_threads", c.workers.max_threads, Bounds{1, 65536});
}

// Calls visit(key, std::string&) for every ZeroMQ endpoint key.
template <class Cfg, class Visit>
void for_each_endpoint(Cfg& c, Visit&& visit) {
  visit("broker.frontend", c.broker.frontend);
  visit("broker.results", c.broker.results);
  visit("broker.backend", c.broker.backend);
  visit("broker.status", c.broker.status);
}

// Calls visit(key, std::string&) for every venv key (paths, relative to
// the config file's folder).
template <class Cfg, class Visit>
void for_each_venv(Cfg& c, Visit&& visit) {
  visit("python.venv", c.python.venv);
  for (auto* p : c.workers.all()) visit(pool_key(*p) + ".venv", p->venv);
}

// Calls visit(key, std::string&) for every string key (endpoints included).
template <class Cfg, class Visit>
void for_each_string(Cfg& c, Visit&& visit) {
  for_each_endpoint(c, visit);
  visit("broker.journal.path", c.broker.journal.path);
  visit("broker.journal.fsync", c.broker.journal.fsync);
  visit("security.secret_key", c.security.secret_key);
  visit("security.worker_key", c.security.worker_key);
  visit("broker.metrics", c.broker.metrics);
  visit("logging.level", c.logging.level);
  visit("logging.format", c.logging.format);
  for_each_venv(c, visit);
}

// Calls visit(key, bool&) for every true/false key.
template <class Cfg, class Visit>
void for_each_bool(Cfg& c, Visit&& visit) {
  visit("broker.allow_insecure", c.broker.allow_insecure);
  for (auto* p : c.workers.all()) visit(pool_key(*p) + ".capture_output", p->capture_output);
}

// Calls visit(key, std::vector<std::string>&) for every list-of-paths key;
// relative entries are relative to the config file's folder.
template <class Cfg, class Visit>
void for_each_path_list(Cfg& c, Visit&& visit) {
  visit("python.script_roots", c.python.script_roots);
  visit("python.path", c.python.path);
  for (auto* p : c.workers.all()) {
    visit(pool_key(*p) + ".script_roots", p->script_roots);
    visit(pool_key(*p) + ".path", p->path);
  }
  visit("security.producers", c.security.producers);
  visit("security.clients", c.security.clients);
  visit("security.workers", c.security.workers);
}

inline constexpr std::string_view kScriptRootsKey = "python.script_roots";
inline constexpr std::string_view kPoolsKey = "workers.pools";
// The stand-in name of "any pool under workers.pools" in the set of known
// keys (config_loader.cpp): "workers.pools.*.threads".
inline constexpr std::string_view kAnyPool = "*";

// The keys a pool that sets none of its own takes from python.*.
template <class Visit>
void for_each_inherited(FleetConfig& c, Visit&& visit) {
  for (PoolConfig* p : c.workers.all()) {
    const std::string k = pool_key(*p);
    visit(k + ".script_roots", [&] { p->script_roots = c.python.script_roots; });
    visit(k + ".venv", [&] { p->venv = c.python.venv; });
    visit(k + ".path", [&] { p->path = c.python.path; });
  }
}

// Maps a dotted key to the 1-based line it was read from (0 = unknown).
using LineOf = std::function<int(std::string_view key)>;

// Adaptive pools: min/max against `processes`, min <= max, and the floor of
// every pool under workers.max_total_processes. Defined in validate_scaling.cpp.
void check_scaling(const FleetConfig& cfg, const LineOf& line_of);

// Range and consistency checks shared by validate() and the loader; throws
// ConfigError naming cfg.source, line_of(key) and key. Defined in validate.cpp.
void check_values(const FleetConfig& cfg, const LineOf& line_of, Role role);

}  // namespace zfleet::config::schema
