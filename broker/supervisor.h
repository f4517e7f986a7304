// Supervisor: starts the local workers named in workers.io / workers.cpu as
// child processes (posix_spawn of zfleet-worker: an exec, never a bare fork
// of this threaded process), restarts those that exit with exponential
// backoff (capped), and stops them all on shutdown.
//
// Children get their own process group, so a terminal's Ctrl-C reaches only
// the broker, which then drains and stops them in order; and they are told
// the broker's pid, so they exit by themselves if the broker dies.
//
// Thread safety: not synchronized; used by the broker's main thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "broker/restart_policy.h"
#include "common/protocol.h"
#include "config/fleet_config.h"

namespace zfleet::broker {

class LocalWorkerBoard;

class Supervisor {
 public:
  // `board` (optional) receives the children's state after every change.
  // `server_public_key`: the broker's CURVE public key (Z85), given to local
  // workers with security.worker_key; empty without `security`.
  Supervisor(const config::FleetConfig& cfg, std::string worker_bin,
             LocalWorkerBoard* board = nullptr, std::string server_public_key = {});
  void start_all();
  // Reaps exited children, restarts those whose backoff has passed (at once
  // for a process that was up past its start-up window), and notes the
  // running ones that outlived it. Call it when a child exits (SIGCHLD) and
  // at next_due_us().
  void poll(uint64_t now_us);
  // When poll() next has timed work (a restart after its backoff, a start-up
  // window ending); UINT64_MAX when only a child's exit can change anything.
  uint64_t next_due_us() const;
  // SIGTERM to every child, then SIGKILL to those still running after
  // `grace_ms`. Returns when all have been reaped.
  void stop_all(uint64_t grace_ms);
  std::size_t running() const;

  // Adaptive pools (pool_scaler.h). A scaling pool has max_processes slots,
  // of which the first min_processes are wanted at start.
  struct LocalProcess {
    pid_t pid = -1;  // <= 0 while waiting to be (re)started
    bool retiring = false;
  };
  std::vector<LocalProcess> processes_of(const config::PoolConfig& pool) const;
  int wanted_total() const;  // local processes wanted, all pools
  // Starts one more process of `pool`; false when it already runs max.
  bool grow(const config::PoolConfig& pool, uint64_t now_us);
  // Marks the process as draining for a scale-down (or not, when the
  // scale-down is cancelled): its exit then frees its slot for good.
  void set_retiring(pid_t pid, bool retiring);

  // Endpoint a local child connects to for a bound endpoint (wildcard hosts
  // become 127.0.0.1).
  static std::string local_endpoint(const std::string& bound);

 private:
  // One slot of a pool: at most one process at a time.
  struct Child {
    const config::PoolConfig* pool = nullptr;  // in cfg_, which outlives the supervisor
    int slot = 0;     // index within its pool
    pid_t pid = -1;
    uint64_t next_start_us = 0;
    RestartPolicy policy;
    uint64_t restarts = 0;
    std::string last_exit;
    bool wanted = true;     // false: a scaling pool's slot not in use
    bool retiring = false;  // draining for a scale-down: not restarted when it exits
  };
  void add_pool(const config::PoolConfig& pool);
  std::vector<std::string> worker_args(const Child& c) const;
  void publish();
  bool spawn(Child& c, uint64_t now_us);
  void on_exit(Child& c, int status, uint64_t now_us);
  bool poll_child(Child& c, uint64_t now_us);  // true if its published state changed

  const config::FleetConfig& cfg_;
  std::string worker_bin_;
  std::vector<Child> children_;
  LocalWorkerBoard* board_;
  std::string server_public_key_;  // Z85, for local workers under CURVE
};

}  // namespace zfleet::broker
