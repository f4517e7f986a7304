// StatusSnapshot: everything a `status` reply reports, gathered by the broker
// from its metrics, queues, worker registry and cache, and encoded by
// common/codec. A plain value: copy it freely between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zfleet::common {

struct WorkerStatus {
  std::string id;
  std::string type;
  std::string host;
  int64_t pid = 0;
  uint32_t threads = 0;
  uint32_t active = 0;     // tasks running now (worker's heartbeat)
  uint32_t inflight = 0;   // dispatched and not returned (broker's ledger)
  uint32_t capacity = 0;   // most it may hold in flight: threads + prefetch granted (zfleet addition)
  uint64_t done = 0;       // results received back from this worker
  uint64_t failed = 0;
  bool alive = true;
  uint64_t last_heartbeat_ms = 0;  // ms since the last heartbeat
  uint64_t rss_bytes = 0;
};

// A worker process the broker itself starts and restarts (zfleet addition
// to `status`: "local_workers").
struct LocalWorkerStatus {
  std::string type;
  uint32_t slot = 0;
  int64_t pid = 0;           // 0 while waiting to be restarted
  uint64_t restarts = 0;
  bool crash_looping = false;
  std::string last_exit;     // "" before the first exit
};

// The journal's figures (zfleet addition to `status`, present when
// broker.journal is set).
struct JournalStatus {
  std::string path;
  std::string fsync;              // always | every_ms | never
  uint64_t bytes = 0;             // on disk: segments + snapshot
  uint64_t records = 0;           // written since start
  uint64_t fsyncs = 0;
  uint64_t last_fsync_ms = 0;     // ms since the last fsync ended (0: none yet)
  uint64_t fsync_p99_us = 0;
  uint64_t compactions = 0;
  uint64_t replayed_records = 0;  // at start
  uint64_t replay_ms = 0;
  uint64_t restored_tasks = 0;
  uint64_t restored_results = 0;
  std::string damage;             // "" or what replay found and moved aside
};

// One entry of `queues`: a pool, in PoolId order. Beyond PROTOCOL's
// `depth`, zfleet adds the pool's own task counts (what `status --watch`
// turns into rates).
// An adaptive pool's process counts and last decision (PROTOCOL.md
// "status": the optional keys of a `queues` entry).
struct PoolScaling {
  uint32_t processes = 0, min_processes = 0, max_processes = 0;
  bool has_last = false;
  uint64_t at_ms = 0;  // wall clock, ms since the Unix epoch
  uint32_t from = 0, to = 0;
  std::string reason;
};

struct QueueStatus {
  std::string name;
  uint64_t depth = 0;    // runnable, waiting for a worker
  uint64_t delayed = 0;  // delayed or waiting for a retry
  uint64_t running = 0;
  uint64_t submitted = 0, done = 0, failed = 0;
  std::optional<PoolScaling> scaling;  // adaptive pools only
};

struct StatusSnapshot {
  std::string version;
  uint64_t uptime_ms = 0;
  std::vector<QueueStatus> queues;  // every configured pool
  uint64_t submitted = 0, done = 0, failed = 0, retried = 0, running = 0;
  uint64_t cancelled = 0;      // tasks failed `cancelled` (also counted in failed)
  uint64_t delayed = 0;        // gauge: delayed or waiting for a retry, all pools
  uint64_t stale_results = 0;  // RESULTs that were not for the task's current dispatch
  std::vector<WorkerStatus> workers;
  uint64_t cache_shards = 0, cache_entries = 0, cache_bytes = 0;
  uint64_t cache_hits = 0, cache_misses = 0, cache_evictions = 0;
  uint64_t replies_dropped = 0;
  uint64_t live = 0;     // tasks queued, delayed, running or retrying (broker.max_live)
  uint64_t waiters = 0;  // long-poll gets parked now (broker.max_waiters)
  std::vector<LocalWorkerStatus> local_workers;
  std::optional<JournalStatus> journal;
};

}  // namespace zfleet::common
