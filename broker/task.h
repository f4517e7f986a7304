// Task: one accepted task while it is live in the broker (queued, delayed,
// running or waiting for a retry). Finished tasks leave only a ResultRecord
// in the result cache.
//
// Ownership and threads: an intake thread creates the Task and registers it
// in the LiveTable, then hands the pointer to the dispatcher thread, which
// owns it from then on and deletes it once it is finished (TaskLifecycle).
// Fields under "guarded by the LiveTable shard lock" are read by result
// threads and written only through LiveTable methods; every other field
// belongs to the dispatcher thread alone once the hand-off has happened
// (intake writes them before LiveTable::insert, whose lock publishes them).
//
// `phase` is the lifecycle state of docs/architecture.md ("Task lifecycle");
// only TaskLifecycle changes it.
//
// Kept small on purpose: a queued task costs one Task, its payload and id
// bytes, one LiveTable slot and one queue slot (DESIGN bar: < 300 bytes).
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "common/pools.h"
#include "common/protocol.h"

namespace zfleet::broker {

enum class Phase : uint8_t {
  handed_off,  // accepted by intake, not yet seen by the dispatcher
  queued,      // in its pool's queue, runnable
  delayed,     // waiting for delay_ms (timer)
  running,     // sent to a worker as dispatch `dispatch` (deadline timer)
  retry_wait,  // failed, waiting for its backoff before a retry (timer)
  finishing,   // its outcome is decided; waits for its journal record to be durable
  finished,    // done or failed: its record is in the result cache
};

inline constexpr uint32_t kNoTimer = std::numeric_limits<uint32_t>::max();

struct Task {
  std::string id;           // <= 15 bytes stays inline (generated ids do)
  std::string payload;      // worker-bound bytes from common::encode_task_payload
  uint64_t accepted_us = 0;
  uint64_t started_us = 0;  // when the current (or last) run was dispatched
  uint64_t runnable_us = 0; // when it last became runnable (queued): its queue wait ends at dispatch
  uint64_t dispatch = 0;    // running: the current run's dispatch number; else 0
  uint64_t due_us = 0;      // the timer: run-after (delayed, retry_wait) or deadline (running)
  uint32_t timer_pos = kNoTimer;  // index in the TimerHeap, kNoTimer when not in it
  uint32_t timeout_ms = 0;        // effective timeout (broker default applied)
  uint32_t retry_backoff_ms = 0;  // first retry's backoff, doubled per retry
  uint16_t attempts = 0;          // runs so far (dispatches)
  common::TaskErrorSet retry_on = 0;
  uint8_t max_retries = 1;   // re-dispatches allowed after a lost worker
  uint8_t losses = 0;        // workers lost while running it
  uint8_t retries = 0;       // re-runs allowed after a failure in retry_on
  uint8_t retries_used = 0;
  common::PoolId pool = common::kIoPool;
  // Restored from the journal with a pool this broker no longer has (then
  // `pool` is io): the dispatcher fails it `cancelled` as it adopts it.
  bool pool_gone = false;
  Phase phase = Phase::handed_off;
  bool cancel_requested = false;  // running, a cancel was sent to its worker
  bool delay_counted = false;     // holds a place in Metrics::held_delayed (max_delayed)
  // Other holders of this pointer, each of which deletes it (maybe_delete)
  // when it meets it finished: intake's hand-off not yet received by the
  // dispatcher, and a queue slot left behind by a cancel (a tombstone).
  bool intake_ref = true;
  bool queue_ref = false;

  // Guarded by the LiveTable shard lock.
  common::TaskState state = common::TaskState::pending;
  uint64_t waiters = 0;       // bit i: result thread i waits for this task
  uint64_t run_after_us = 0;  // pending: when it becomes runnable (0: it is)
};

// Deletes a finished task that nobody else still points to; otherwise the
// last holder does it (see intake_ref, queue_ref).
inline void maybe_delete(Task* t) {
  if (t->phase == Phase::finished && !t->intake_ref && !t->queue_ref) delete t;
}

}  // namespace zfleet::broker
