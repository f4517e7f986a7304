// Opts: everything zfleet-bench's command line sets (global options and the
// chosen scenario's), filled by main.cpp and read by the scenarios. A plain
// value: scenarios that run others (scaling, suite) copy and adjust it.
//
// Thread safety: a value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/bench/fleet.h"
#include "common/curve_keys.h"

namespace zfleet::bench {

struct Opts {
  // Where the fleet is: a running one (config or endpoints) or one the bench
  // starts (--spawn*, and always for scaling and suite).
  std::string config, frontend, results;
  std::string key, server_key;  // CURVE files (running fleets only)
  bool spawn = false;
  std::string spawn_io = "2x8", spawn_cpu = "2x1";  // as config/fleet.yaml
  std::string scripts;                              // script root of spawned fleets
  std::string spawn_threads = "1,1";                // Q,R: queue_threads, result_threads
  bool spawn_defaults = false;                      // the broker's defaults (no worker or thread keys)
  // Output.
  bool json = false, progress = true, vs_transport = false;
  std::string plot;                   // --plot FILE.png: draw the results with gnuplot
  bool plot_script = false;           // keep the gnuplot script as FILE.gp
  std::string plot_size = "900x340";  // W x H of one panel (panels are stacked)
  // Transport measurement (transport, --vs-transport, suite).
  std::size_t transport_count = 2000, transport_window = 64;
  // Scenario.
  std::string task = "echo", type = "io";
  std::size_t count = 20000, batch = 100, window = 64;
  uint64_t wait_ms = 60000;
  double rate = 1000, duration_s = 0;  // rate: duration wins over count when given
  std::vector<int> workers{1, 2, 4};   // scaling
  int threads = 0;                     // scaling: threads per worker (0 = 1 for cpu, 8 for io)
  double idle_s = 3;                   // cpu-per-task: seconds of idle fleet measured
  std::size_t warmup = 0;              // scaling: tasks run and discarded first (0 = count / 10)
  // burst: one pool, `burst`, of min_processes..max_processes (fixed at
  // either end, or adaptive between them); idle lead_s before the sends
  // and tail_s after the last result.
  int min_processes = 1, max_processes = 4;
  double lead_s = 2, tail_s = 8;
  std::vector<std::string> modes{"fixed-min", "fixed-max", "adaptive"};
};

struct Endpoints {
  std::string frontend, results;
  common::CurveOptions curve;  // --key / --server-key against a running fleet
};

// config/tasks of the source tree when the build says where it is
// (ZFLEET_SOURCE_DIR), else config/tasks under the current directory.
std::string default_scripts_dir();

// The fleet --spawn asks for (spawn_io, spawn_cpu, scripts). Throws
// std::invalid_argument on a malformed P[xT].
FleetSpec fleet_spec(const Opts& o);

}  // namespace zfleet::bench
