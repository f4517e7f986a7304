// WorkerEntry: what the broker knows of one worker process: its identity
// and capacity (READY), its last heartbeat, and the exact ledger of the
// slots it holds: the dispatch numbers sent to it and not yet answered
// (dispatched minus returned), which routing trusts between heartbeats
// (DESIGN decision 1). A slot is separate from any task's state: it is
// freed by the worker's answer for that dispatch, its GONE or a new process
// under its id, whatever the task has become meanwhile (DESIGN decision 8).
//
// Thread safety: owned and used by the dispatcher thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_set>

#include "common/pools.h"
#include "common/worker_link.h"

namespace zfleet::broker {

struct WorkerEntry {
  common::WorkerInfo info;
  std::string route;               // routing id of its backend connection (what READY came on)
  std::string contender;           // route of a READY under its id refused while it was alive
  common::PoolId pool = common::kIoPool;  // info.pool's id: the queue it takes tasks from
  uint32_t capacity = 1;           // threads + granted prefetch: never more in flight
  double avg_run_us = 0;           // moving average of recent task run times (0 = none yet)
  std::unordered_set<uint64_t> ledger;  // dispatch numbers it holds a slot for
  uint64_t joined_us = 0;
  uint64_t last_seen_us = 0;       // any backend traffic or heartbeat
  uint64_t last_heartbeat_us = 0;
  uint64_t last_dispatch_us = 0;   // tie-break: the longest unused goes first
  uint64_t died_us = 0;
  uint64_t done = 0, failed = 0;   // results received back from it
  common::Heartbeat heartbeat;     // last one received
  bool alive = true;
  bool stopping = false;           // said BYE: gets no new tasks
  // Chosen for a scale-down (issue 15): gets no new tasks; once it holds
  // none it is told to STOP. Cleared again if the scale-down is cancelled.
  bool retiring = false;
  bool stop_sent = false;          // STOP sent while retiring: too late to keep it
  bool indexed = false;            // present in the Scheduler's index
  bool refilling = true;           // prefetch being topped up (see has_free_slot)
  uint64_t token = 0;              // sent in WELCOME; its heartbeats must carry it
  uint64_t idle_since_us = 0;      // heartbeats say it runs nothing while it holds slots

  uint32_t inflight() const { return static_cast<uint32_t>(ledger.size()); }

  // Prefetch is granted only while tasks are short: about kPrefetchBudgetUs
  // of queued work per thread, capped at `max_prefetch`. A worker with no
  // history or long tasks gets none, so a long task never waits behind
  // another on a busy worker while an idle one could take it.
  // 5 ms, not less: each refill wakes I/O threads that take CPU from the
  // tasks when every CPU runs one (docs/architecture.md, "prefetch").
  static constexpr double kPrefetchBudgetUs = 5000;
  uint32_t capacity_for(uint32_t max_prefetch) const {
    uint32_t t = threads();
    if (avg_run_us <= 0 || max_prefetch == 0) return t;
    double grant = t * kPrefetchBudgetUs / std::max(avg_run_us, 1.0);
    return t + static_cast<uint32_t>(std::min<double>(grant, max_prefetch));
  }
  // A worker with an idle thread gets a task at once. Its prefetch (the
  // slots beyond its threads) is refilled in bursts: once half of it has
  // come back, up to full again. Tasks then travel, and wake the worker,
  // in groups rather than one by one, and the worker never runs dry.
  bool has_free_slot() const {
    uint32_t n = inflight();
    return n < capacity && (n < threads() || refilling);
  }
  // Called after every change of in-flight or capacity (Scheduler::refresh).
  void update_refill() {
    uint32_t n = inflight();
    if (n >= capacity) refilling = false;
    else if (n <= threads() + (capacity - threads()) / 2) refilling = true;
  }
  uint32_t threads() const { return info.threads ? info.threads : 1; }
};

}  // namespace zfleet::broker
