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
  std::atomic<uint64_t> retried{0};
  std::atomic<uint64_t> running{0};          // gauge: in flight on workers
  std::atomic<uint64_t> replies_dropped{0};
  // Gauge per task type: accepted and not yet dispatched (incremented by
  // intake before hand-off, so it also enforces broker.max_queued).
  std::atomic<uint64_t> queue_depth[common::kTaskTypeCount] = {};

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static void sub(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_sub(n, std::memory_order_relaxed);
  }
  static uint64_t get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }
};

}  // namespace zfleet::broker
