// WorkerEntry: what the broker knows of one worker process: its identity
// and capacity (READY), its last heartbeat, and the exact ledger of tasks in
// flight on it (dispatched minus returned), which routing trusts between
// heartbeats (DESIGN decision 1).
//
// Thread safety: owned and used by the dispatcher thread only.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "broker/task.h"
#include "common/worker_link.h"

namespace zfleet::broker {

struct WorkerEntry {
  common::WorkerInfo info;
  uint32_t capacity = 1;           // threads + prefetch: never more in flight
  std::unordered_map<std::string_view, Task*> ledger;  // in flight, by task id
  uint64_t joined_us = 0;
  uint64_t last_seen_us = 0;       // any backend traffic or heartbeat
  uint64_t last_heartbeat_us = 0;
  uint64_t last_dispatch_us = 0;   // tie-break: the longest unused goes first
  uint64_t died_us = 0;
  uint64_t done = 0, failed = 0;   // results received back from it
  common::Heartbeat heartbeat;     // last one received
  bool alive = true;
  bool stopping = false;           // said BYE: gets no new tasks
  bool indexed = false;            // present in the Scheduler's index

  uint32_t inflight() const { return static_cast<uint32_t>(ledger.size()); }
  bool has_free_slot() const { return inflight() < capacity; }
};

}  // namespace zfleet::broker
