// The bench's figures for --plot, one per scenario result, built from what
// the scenario measured (no extra measuring): latency distributions, the
// completion rate over time of an open-loop run, throughput over worker
// counts. They are plot::Figure values (plot.h); plot_output.h draws them.
//
// A latency distribution is one panel: the share of tasks in each of 20
// log-spaced bins a decade (filled, left axis; bins below 10 us are whole
// microseconds, and every bin's share is scaled to a 1/20-decade width so
// that areas compare), the cumulative share (line, right axis), and
// p50/p90/p99/p99.9 marked.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "benchmarks/bench/histogram.h"
#include "benchmarks/bench/open_loop.h"
#include "benchmarks/bench/options.h"
#include "benchmarks/bench/plot.h"
#include "benchmarks/bench/scenarios.h"

namespace zfleet::bench {

// `v` printed with the printf format `f` (one double), as a string.
std::string format_number(const char* f, double v);

plot::Panel latency_panel(const std::string& title, const Histogram& h);

// latency: the round-trip distribution.
plot::Figure latency_figure(const Opts& o, const LatencyResult& r);
// throughput: queued-time and run-time distributions, from the results.
plot::Figure throughput_figure(const Opts& o, const ThroughputResult& r);
// rate: results per second over time against the offered and sent rates
// (100 ms bins, wider for long runs), then the latency distribution.
plot::Figure rate_figure(const Opts& o, const RateResult& r);
// scaling: tasks/s over worker counts, and linear scaling from the first.
plot::Figure scaling_figure(const Opts& o, const std::vector<ScalingRow>& rows);
// burst: one panel per mode, on one time axis from the start of sampling:
// each task's queue wait at its intended send time (points, left axis, the
// same scale in every panel) and the pool's process count (steps, right).
plot::Figure burst_figure(const Opts& o, const std::vector<BurstRow>& rows);
// transport: the one-at-a-time round-trip distribution.
plot::Figure transport_figure(const TransportResult& t);

}  // namespace zfleet::bench
