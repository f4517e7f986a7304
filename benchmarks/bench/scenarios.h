// The zfleet-bench scenarios, one source file each (scenario_<name>.cpp).
//
// cmd_* run one scenario end to end and print its table (or one JSON object
// with --json), then, all but balance, draw it with --plot (plot_output.h);
// they return the process exit code: 0, or 1 when tasks were lost or
// refused or a plot could not be drawn. `ref`, when set (--vs-transport), is the transport limit
// measured earlier in the same run, and every rate and latency is also given
// as a fraction of it. run_* measure without printing, for the scenarios
// that combine others (scaling, suite).
//
// Thread safety: call from the main thread (some start processes).
#pragma once

#include "benchmarks/bench/fleet.h"
#include "benchmarks/bench/histogram.h"
#include "benchmarks/bench/load_client.h"
#include "benchmarks/bench/open_loop.h"
#include "benchmarks/bench/options.h"
#include "benchmarks/bench/pool_sampler.h"
#include "benchmarks/bench/transport.h"

namespace zfleet::bench {

class Progress;
class JsonObject;

// throughput: N tasks pipelined (submit_batch of `batch`, `window` requests
// outstanding), then fetched with pipelined get_many + wait_ms.
struct ThroughputResult {
  Outcome out;
  double seconds = 0, tasks_per_s = 0, accept_per_s = 0;
  Histogram queued_us, run_us;
};
ThroughputResult run_throughput(const Endpoints& ep, const Opts& o, Progress* progress);
int cmd_throughput(const Opts& o, const Endpoints& ep, const TransportResult* ref);

// latency: closed loop, one task at a time (submit, ack, get with wait_ms).
struct LatencyResult {
  Histogram round_trip_us;
  std::size_t errors = 0;
};
LatencyResult run_latency(const Endpoints& ep, const Opts& o);
int cmd_latency(const Opts& o, const Endpoints& ep, const TransportResult* ref);

// balance: equal tasks; per-worker counts from status before and after.
struct BalanceResult {
  std::size_t done = 0, lost = 0;
  std::vector<std::pair<std::string, uint64_t>> per_worker;
  double mean = 0, max_deviation = 0;  // deviation as a fraction of the mean
};
BalanceResult run_balance(const Endpoints& ep, const Opts& o);
int cmd_balance(const Opts& o, const Endpoints& ep, const TransportResult* ref);

// rate: open loop at o.rate tasks/s for o.duration_s (or o.count tasks).
int cmd_rate(const Opts& o, const Endpoints& ep, const TransportResult* ref);

// scaling: throughput over fleets of o.workers worker processes of o.type,
// each fleet started and stopped by the bench.
struct ScalingRow {
  int workers = 0;
  ThroughputResult r;
};
std::vector<ScalingRow> run_scaling(const Opts& o);
int cmd_scaling(const Opts& o, const TransportResult* ref);

// transport: the raw ZeroMQ forwarding round trip.
TransportResult run_transport(const Opts& o);
int cmd_transport(const Opts& o);

// cpu-per-task: a fleet of its own; the CPU time of every process of the
// path (bench, broker, workers) over a throughput run, per task, and how
// often each wakes up while the fleet is idle.
struct CpuPerTaskResult {
  struct Group {
    std::string name;
    double us_per_task = 0;
    double idle_cpu_ms_per_s = 0, idle_wakeups_per_s = 0;
  };
  std::vector<Group> groups;  // bench, broker, workers
  double us_per_task = 0;     // all of them together
  double tasks_per_s = 0, idle_wakeups_per_s = 0;
  ThroughputResult run;
};
CpuPerTaskResult run_cpu_per_task(const Opts& o);
int cmd_cpu_per_task(const Opts& o);

// burst: for each of o.modes (fixed-min, fixed-max, adaptive), a fleet of
// its own with one pool, `burst`; idle, an open-loop burst (o.rate for
// o.duration_s), idle again; queue wait, processes and memory over time.
struct BurstRow {
  std::string mode;
  PoolSpec pool;
  RateResult r;                     // its queued_us: the burst's queue wait
  std::vector<PoolSample> samples;  // from the fleet's start of sampling
  double offset_s = 0;              // r's t0 in the samples' time
  double mean_processes = 0, mean_rss_mib = 0;
  uint64_t max_processes = 0, end_processes = 0;
};
std::vector<BurstRow> run_burst(const Opts& o);
int cmd_burst(const Opts& o);

// suite: a fleet of its own, every bar of benchmarks/README.md ("Bars")
// the bench can measure, one summary table with value, bar and pass/fail;
// exit 0 when all are met, 3 when one is not, 1 when tasks were lost.
int cmd_suite(const Opts& o);

}  // namespace zfleet::bench
