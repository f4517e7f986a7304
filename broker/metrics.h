// Metrics: the broker's counters, gauges and histograms, in the one object
// that `status` and the Prometheus endpoint (/metrics) both read. Relaxed
// atomics: each figure is exact, a read of several is a near-snapshot.
//
// Per pool (PoolMetrics, indexed by common::PoolId): what `status` shows per
// queue and /metrics labels with pool="NAME". The broker-wide figures of
// `status` ("tasks") are sums over the pools (Metrics::totals()).
//
// Thread safety: every member may be updated and read from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "broker/latency_histogram.h"
#include "common/pools.h"
#include "common/protocol.h"

namespace zfleet::broker {

// The endpoints whose invalid messages are counted apart.
enum class Endpoint : uint8_t { frontend, results, backend, status };
inline constexpr int kEndpoints = 4;
inline constexpr int kTaskErrorCodes = static_cast<int>(common::TaskErrorCode::cancelled) + 1;

struct PoolMetrics {
  using Counter = std::atomic<uint64_t>;
  Counter submitted{0};  // accepted by intake
  Counter done{0};
  Counter failed[kTaskErrorCodes] = {};  // by TaskErrorCode (cancelled included)
  Counter retried{0};    // re-dispatches after a lost worker + retries after a failure
  Counter running{0};    // gauge: running on workers
  // Gauge: accepted and not running (queued, delayed or waiting for a
  // retry). The one counter broker.max_queued bounds: intake reserves in it
  // before hand-off; summing queue_depth and delayed instead could count a
  // task twice while the dispatcher moves it from one to the other, and
  // refuse a submit under the limit.
  Counter waiting{0};
  Counter queue_depth{0};   // gauge: runnable, not yet running
  Counter delayed{0};       // gauge: delayed, or waiting for a retry's backoff
  // Gauge: submitted with delay_ms and not yet due (a retry's backoff is not
  // counted: retries are never refused). The counter broker.max_delayed
  // bounds; intake reserves in it, the lifecycle releases it
  // (Task::delay_counted).
  Counter held_delayed{0};
  // When the oldest runnable task became runnable (steady us; 0 = none
  // queued), refreshed with the worker board: what adaptive pools scale on.
  Counter oldest_queued_us{0};
  // Adaptive pools (pool_scaler.h): changes made (the process count itself
  // is published with the scaling state: LocalWorkerBoard).
  Counter scaled_up{0}, scaled_down{0}, scale_downs_cancelled{0};
  LatencyHistogram queue_wait;  // runnable -> dispatched, per dispatch
  LatencyHistogram run_time;    // a run's time as its worker measured it (or until its deadline)

  Counter& failed_of(common::TaskErrorCode c) { return failed[static_cast<int>(c)]; }
  const Counter& failed_of(common::TaskErrorCode c) const { return failed[static_cast<int>(c)]; }
  uint64_t failed_total() const;
};

struct Metrics {
  using Counter = std::atomic<uint64_t>;
  PoolMetrics pool[common::kMaxPools];
  Counter stale_results{0};    // RESULTs not for their task's current dispatch
  Counter replies_dropped{0};
  Counter invalid[kEndpoints] = {};  // messages dropped or refused as malformed, by endpoint
  // Gauge: long-poll gets parked on all result threads, answered or not
  // yet sent. The counter broker.max_waiters bounds.
  Counter waiters{0};

  // Sums over the first `pools` pools, for `status`'s "tasks".
  struct Totals {
    uint64_t submitted = 0, done = 0, failed = 0, retried = 0, cancelled = 0, running = 0;
    uint64_t queue_depth = 0, delayed = 0;
  };
  Totals totals(int pools = common::kMaxPools) const;

  void invalid_on(Endpoint e) { add(invalid[static_cast<int>(e)]); }

  static void add(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static void sub(Counter& c, uint64_t n = 1) { c.fetch_sub(n, std::memory_order_relaxed); }
  static uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }
  // Takes one place in `c` if it holds fewer than `limit`; false (nothing
  // taken) otherwise. Add-then-check, so threads racing for the last place
  // never overshoot the limit (a load-then-add could let two in).
  static bool reserve(Counter& c, uint64_t limit) {
    if (c.fetch_add(1, std::memory_order_relaxed) < limit) return true;
    sub(c);
    return false;
  }
};

}  // namespace zfleet::broker
