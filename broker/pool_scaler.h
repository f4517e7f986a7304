// PoolScaler: grows and shrinks the broker's adaptive pools (issue 15). On
// each tick it reads the broker's own figures (the dispatcher's worker
// board: slots and in-flight per worker; Metrics: how long each pool's
// oldest queued task has waited), asks ScalingPolicy per pool, and acts
// through the Supervisor:
//   - up: one more local process (Supervisor::grow);
//   - down: the least-loaded registered process of the pool is drained:
//     RETIRE to the dispatcher, which routes nothing more to it and tells it
//     to STOP once it holds no task; its exit frees the slot for good;
//   - keep: a drain under way is cancelled (KEEP) when the pool gets busy
//     again before the process was told to stop.
// workers.max_total_processes: pools grow only while all pools' processes
// (fixed, starting and draining included) are under it; when several want
// to grow in one tick, the one whose oldest task has waited longest
// relative to its own scale_up_after_ms goes first (config order on ties).
// Every decision is logged with its figures, counted in Metrics and
// published (LocalWorkerBoard::publish_scaling) for `status`.
//
// Thread safety: the broker's main thread only (with the Supervisor).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "broker/broker_state.h"
#include "broker/scaling_policy.h"
#include "broker/supervisor.h"

namespace zfleet::broker {

class PoolScaler {
 public:
  // `tell`: sends RETIRE (true) or KEEP (false) for a pid to the dispatcher.
  using Tell = std::function<void(bool retire, int64_t pid)>;
  PoolScaler(BrokerState& st, Supervisor& supervisor, Tell tell);

  bool active() const { return !pools_.empty(); }
  void tick(uint64_t now_us);
  // When tick() wants to run next (UINT64_MAX: no adaptive pool).
  uint64_t next_due_us() const { return active() ? next_tick_us_ : UINT64_MAX; }

 private:
  struct Pool {
    const config::PoolConfig* cfg;
    common::PoolId id;
    PoolScaleState state;
    common::PoolScaling shown;
  };
  PoolLoad load_of(const Pool& p, const std::vector<Supervisor::LocalProcess>& procs, uint64_t now_us) const;
  pid_t least_loaded(const Pool& p, const std::vector<Supervisor::LocalProcess>& procs) const;
  void apply(Pool& p, const ScaleDecision& d, const std::vector<Supervisor::LocalProcess>& procs, uint64_t now_us);
  void note(Pool& p, int from, int to, const std::string& reason);
  void publish();

  BrokerState& st_;
  Supervisor& supervisor_;
  Tell tell_;
  std::vector<Pool> pools_;
  uint64_t tick_us_;
  uint64_t next_tick_us_ = 0;
};

}  // namespace zfleet::broker
