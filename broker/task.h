// Task: one accepted task while it is live in the broker (queued or in
// flight). Finished tasks leave only a ResultRecord in the result cache.
//
// Ownership and threads: an intake thread creates the Task and registers it
// in the LiveTable, then hands the pointer to the dispatcher thread, which
// owns it from then on (queues, worker ledgers) and deletes it after removing
// it from the LiveTable. Fields under "guarded by the LiveTable shard lock"
// are read by result threads and written only through LiveTable methods;
// every other field belongs to the dispatcher thread alone.
//
// Kept small on purpose: a queued task costs one Task, its payload and id
// bytes, one LiveTable slot and one queue slot (DESIGN bar: < 300 bytes).
#pragma once

#include <cstdint>
#include <string>

#include "common/protocol.h"

namespace zfleet::broker {

struct Task {
  std::string id;           // <= 15 bytes stays inline (generated ids do)
  std::string payload;      // worker-bound bytes from common::encode_task_payload
  uint64_t accepted_us = 0;
  uint64_t dispatched_us = 0;
  uint32_t timeout_ms = 0;  // effective timeout (broker default applied)
  uint16_t attempts = 0;    // dispatches made so far
  uint8_t max_retries = 1;
  common::TaskType type = common::TaskType::io;
  bool timed_out = false;   // failed by the broker; its worker still holds the slot

  // Guarded by the LiveTable shard lock.
  common::TaskState state = common::TaskState::pending;
  uint64_t waiters = 0;     // bit i: result thread i waits for this task
};

}  // namespace zfleet::broker
