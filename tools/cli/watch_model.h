// What `zfleet status --watch` shows, as plain values: one `status` reply
// read into pools and workers (WatchSnapshot), the rates between two
// replies, and the order of the worker rows (WatchSort).
//
// Rates are tasks finished per second, from the `done`/`failed` counts of
// two replies divided by the broker's own uptime between them (uptime_ms),
// so a slow answer does not inflate them. A broker that restarted (uptime
// went back) or a worker not in the previous reply has no rate yet ("-").
//
// Thread safety: plain values and functions; one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

namespace zfleet::cli {

struct PoolRow {
  std::string name;
  uint64_t depth = 0, delayed = 0, running = 0;
  uint64_t submitted = 0, done = 0, failed = 0;
  uint64_t workers = 0;              // live workers of this pool
  std::optional<double> done_rate;   // tasks/s
  std::optional<double> fail_rate;
};

struct WorkerRow {
  std::string id, pool, host;
  int64_t pid = 0;
  uint64_t threads = 0, active = 0, inflight = 0, capacity = 0;
  uint64_t done = 0, failed = 0;
  bool alive = true;
  uint64_t heartbeat_age_ms = 0;
  uint64_t rss_bytes = 0;
  std::optional<uint64_t> restarts;  // none: not started by this broker
  std::optional<double> done_rate;
};

struct WatchSnapshot {
  std::string version;
  uint64_t uptime_ms = 0;
  uint64_t submitted = 0, done = 0, failed = 0, running = 0, delayed = 0, retried = 0;
  uint64_t cancelled = 0;
  std::optional<double> done_rate;   // all pools
  std::vector<PoolRow> pools;        // in the broker's order
  std::vector<WorkerRow> workers;    // in the broker's order (see sort_workers)
  std::vector<std::string> restarting;  // local slots without a process: "io#1 (crash looping)"
};

// Reads a `status` reply (PROTOCOL.md "status"); absent fields read as 0.
WatchSnapshot read_snapshot(const msgpack::object& status);

// Fills the rates of `now` from `before` (nullptr: the first reply).
void add_rates(WatchSnapshot& now, const WatchSnapshot* before);

// The columns the worker rows can be sorted by, in the order `s` cycles
// through them.
enum class SortKey { pool, id, host, pid, active, inflight, done, failed, rate, rss, restarts, age };

struct WatchSort {
  SortKey key = SortKey::pool;
  bool reversed = false;  // the whole order upside down (natural: text A-Z, numbers largest first)
};

// The key named `name` (the --sort values: docs/cli.md), or nullopt.
std::optional<SortKey> sort_key_named(std::string_view name);
std::string_view sort_key_name(SortKey key);
// The --sort values, in cycle order.
std::vector<std::string> sort_key_names();
// The key after / before `key` in the cycle (wraps around).
SortKey next_sort_key(SortKey key, int step);

// Sorts the rows: by the key, then by pool and id so equal rows keep a
// stable place between refreshes; reversed turns that whole order around.
void sort_workers(std::vector<WorkerRow>& rows, const WatchSort& sort);

}  // namespace zfleet::cli
