// Metrics: the broker's counters, in one object that `status` reads (and a
// later Prometheus endpoint will). Relaxed atomics: each counter is exact,
// a status snapshot of several counters is a near-snapshot.
//
// Thread safety: every member may be updated and read from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/protocol.h"

namespace zfleet::broker {

struct Metrics {
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> retried{0};          // re-dispatches after a lost worker + retries after a failure
  std::atomic<uint64_t> cancelled{0};        // failed `cancelled` (also in `failed`)
  std::atomic<uint64_t> stale_results{0};    // RESULTs not for their task's current dispatch
  std::atomic<uint64_t> running{0};          // gauge: running on workers
  std::atomic<uint64_t> replies_dropped{0};
  // Gauge per task type: accepted and not running (queued, delayed or
  // waiting for a retry). The one counter broker.max_queued bounds: intake
  // reserves in it before hand-off; summing queue_depth and delayed instead
  // could count a task twice while the dispatcher moves it from one to the
  // other, and refuse a submit under the limit.
  std::atomic<uint64_t> waiting[common::kMaxPools] = {};
  // Gauge per task type: runnable, not yet running (for `status`).
  std::atomic<uint64_t> queue_depth[common::kMaxPools] = {};
  // Gauge per task type: delayed, or waiting for a retry's backoff.
  std::atomic<uint64_t> delayed[common::kMaxPools] = {};
  // Gauge per task type: submitted with delay_ms and not yet due (a retry's
  // backoff is not counted: retries are never refused). The counter
  // broker.max_delayed bounds; intake reserves in it, the lifecycle
  // releases it (Task::delay_counted).
  std::atomic<uint64_t> held_delayed[common::kMaxPools] = {};
  // Gauge: long-poll gets parked on all result threads, answered or not
  // yet sent. The counter broker.max_waiters bounds.
  std::atomic<uint64_t> waiters{0};

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static void sub(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_sub(n, std::memory_order_relaxed);
  }
  static uint64_t get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }
  // Takes one place in `c` if it holds fewer than `limit`; false (nothing
  // taken) otherwise. Add-then-check, so threads racing for the last place
  // never overshoot the limit (a load-then-add could let two in).
  static bool reserve(std::atomic<uint64_t>& c, uint64_t limit) {
    if (c.fetch_add(1, std::memory_order_relaxed) < limit) return true;
    sub(c);
    return false;
  }
};

}  // namespace zfleet::broker
