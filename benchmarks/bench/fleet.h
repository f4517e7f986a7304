// SpawnedFleet: a zfleet-broker (and the local workers it starts) that the
// bench runs itself, for `--spawn` and for the `scaling`, `suite` and
// `burst` scenarios. It owns the broker process and a temporary directory holding
// the generated fleet.yaml (free loopback ports, the requested workers, the
// script root) and the broker's log, made under $TMPDIR (default /tmp).
//
// Contract: the constructor returns once `status` lists every requested
// worker alive, or throws (after stopping what it started, and with the tail
// of the broker log in the message). The destructor always stops the broker
// (SIGTERM, waitpid, SIGKILL after a timeout) and removes the directory, so
// an exception in a scenario never leaves a fleet behind. While it lives,
// SIGINT, SIGTERM and SIGHUP are blocked in the calling thread and taken by
// a watcher thread, which stops the fleet, removes the directory and exits
// with 128 + the signal (the broker runs in its own process group, so a
// Ctrl-C reaches only the bench). The broker also gets
// PR_SET_PDEATHSIG=SIGKILL so it dies with a bench killed by SIGKILL (its
// workers follow their broker).
//
// Thread safety: create, use and destroy from one thread (the one that
// forked the broker: the death signal follows that thread); create it
// before any other thread that should not receive those signals.
#pragma once

#include <sys/types.h>

#include <signal.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

namespace zfleet::bench {

struct WorkerGroup {
  int processes = 0;
  int threads = 1;
};

// "P" or "PxT" (processes, threads per process); `default_threads` when T is
// left out. Throws std::invalid_argument.
WorkerGroup parse_worker_group(const std::string& text, int default_threads);

// One named pool in place of io and cpu (the `burst` scenario): `processes`
// fixed, or, when max_processes > 0, adaptive between min_processes and
// max_processes with the scaling timings below (config.md "Adaptive pools").
struct PoolSpec {
  std::string name;
  int threads = 1, processes = 0, min_processes = 0, max_processes = 0;
  int scale_up_after_ms = 200, scale_down_after_ms = 2000, cooldown_ms = 300;
  int heartbeat_ms = 100;  // workers.heartbeat_ms: the scaler decides once per heartbeat
  bool adaptive() const { return max_processes > 0; }
  int starting_processes() const { return adaptive() ? min_processes : processes; }
};

struct FleetSpec {
  WorkerGroup io{2, 8};   // as config/fleet.yaml
  WorkerGroup cpu{2, 1};
  std::string scripts_dir;  // python.script_roots (absolute or relative to the CWD)
  int queue_threads = 1, result_threads = 1;  // as config/fleet.yaml
  // The broker's own defaults for everything but endpoints and scripts: no
  // workers, threads or queue keys written (io, cpu and the two above ignored).
  bool defaults = false;
  std::optional<PoolSpec> pool;  // set: this pool alone (io and cpu get no process)
  std::string broker_bin;   // "" = zfleet-broker next to this executable
};

class SpawnedFleet {
 public:
  explicit SpawnedFleet(const FleetSpec& spec);
  ~SpawnedFleet();
  SpawnedFleet(const SpawnedFleet&) = delete;
  SpawnedFleet& operator=(const SpawnedFleet&) = delete;

  const std::string& frontend() const { return frontend_; }
  const std::string& results() const { return results_; }
  pid_t broker_pid() const { return pid_.load(); }
  // Stops the broker; idempotent. Returns its exit code (-1 if killed).
  int stop();

 private:
  bool start_once(const FleetSpec& spec);  // false: exited at start (port taken?)
  void write_config(const FleetSpec& spec);
  void wait_ready(int workers);
  std::string log_tail() const;
  void watch_signals();
  void unwatch_signals();

  std::string dir_, config_path_, log_path_, broker_bin_;
  std::string frontend_, results_;
  std::atomic<pid_t> pid_ = -1;  // also read by the signal watcher
  int exit_code_ = -1;
  std::thread watcher_;
  int wake_fd_ = -1;
  sigset_t old_mask_{};
};

}  // namespace zfleet::bench
