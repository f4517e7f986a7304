// ScalingPolicy: when one adaptive pool (PoolConfig::scales) should grow or
// shrink by one local process (issue 15, PROTOCOL.md "workers"), from the
// broker's own figures. Pure logic: the Supervisor gathers the figures and
// acts on the decision (pool_scaler.h).
//
//   up:   its oldest queued task has waited scale_up_after_ms while every
//         slot of its processes is busy (a process still starting counts as
//         free slots), and it runs fewer than max_processes;
//   down: for scale_down_after_ms its busy slots would have fit in one
//         process fewer, nothing queued has waited past scale_up_after_ms,
//         it runs more than min_processes and no other process of it is
//         already draining;
//   keep: a drain is under way and the pool wants to grow: cancel the drain
//         (cheaper than starting a process).
// Every change waits for cooldown_ms after the pool's previous one. Each
// decision carries its reason, with the figures, for the log and `status`.
//
// Thread safety: none needed (values; one state per pool, main thread).
#pragma once

#include <cstdint>
#include <string>

#include "config/fleet_config.h"

namespace zfleet::broker {

struct PoolLoad {
  int processes = 0;          // local processes wanted: running, starting or draining
  int starting = 0;           // of those, started but not yet registered
  int draining = 0;           // of those, retiring for a scale-down
  int slots = 0;              // threads of its registered processes not leaving, plus starting ones'
  int busy = 0;               // of those slots, holding a task (in-flight capped at threads)
  uint64_t oldest_wait_us = 0;  // how long its oldest queued task has waited (0: none)
};

struct PoolScaleState {
  uint64_t last_change_us = 0;  // 0: never changed
  uint64_t fit_since_us = 0;    // since when busy slots fit in one process fewer (0: they do not)
};

struct ScaleDecision {
  enum Kind { none, up, down, keep } kind = none;
  std::string reason;  // with the figures
};

ScaleDecision decide_scaling(const config::PoolConfig& pool, const PoolLoad& load, PoolScaleState& state,
                             uint64_t now_us);

// How strongly a pool asks for a process: its oldest task's wait over its
// own scale_up_after_ms (the order in which pools grow under
// workers.max_total_processes; higher first).
double scale_up_pressure(const config::PoolConfig& pool, const PoolLoad& load);

}  // namespace zfleet::broker
