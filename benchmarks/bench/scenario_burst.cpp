// burst: one burst of tasks against a pool of fixed min size, of fixed max
// size, and adaptive between the two (issue 15), each on a fleet of its own
// started by the bench, so nothing but the pool's sizing changes between
// rows. Per mode: the broker's queue wait (`queued_us`) of the burst's tasks,
// the process count and the memory the pool's workers held (status sampled
// every 100 ms, averaged over the whole run: idle lead, burst, and tail).
//
// The load is open loop (OpenLoop): task i is sent at its time whatever the
// fleet does, so a pool too small for the burst shows up as queue wait, not
// as a slower sender.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/fleet.h"
#include "benchmarks/bench/open_loop.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/pool_sampler.h"
#include "benchmarks/bench/progress.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"
#include "common/clock.h"

namespace zfleet::bench {
namespace {

constexpr const char* kPool = "burst";
constexpr std::chrono::milliseconds kSamplePeriod{100};

int burst_threads(const Opts& o) { return o.threads > 0 ? o.threads : 4; }

PoolSpec pool_spec(const Opts& o, const std::string& mode) {
  PoolSpec p;
  p.name = kPool;
  p.threads = burst_threads(o);
  if (mode == "fixed-min") {
    p.processes = o.min_processes;
  } else if (mode == "fixed-max") {
    p.processes = o.max_processes;
  } else if (mode == "adaptive") {
    p.min_processes = o.min_processes;
    p.max_processes = o.max_processes;
  } else {
    throw std::invalid_argument("unknown burst mode '" + mode + "' (fixed-min, fixed-max, adaptive)");
  }
  return p;
}

double mean_of(const std::vector<PoolSample>& s, uint64_t PoolSample::*field) {
  if (s.empty()) return 0;
  double sum = 0;
  for (const auto& x : s) sum += static_cast<double>(x.*field);
  return sum / static_cast<double>(s.size());
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::microseconds(std::llround(s * 1e6))); }

BurstRow run_mode(const Opts& o, const std::string& mode) {
  FleetSpec spec;
  spec.scripts_dir = o.scripts;
  spec.pool = pool_spec(o, mode);
  SpawnedFleet fleet(spec);
  zmq::context_t ctx(1);
  const uint64_t t0 = common::now_us();
  BurstRow row;
  row.mode = mode;
  row.pool = *spec.pool;
  {
    PoolSampler sampler(ctx, fleet.frontend(), fleet.results(), kPool, kSamplePeriod, t0);
    sleep_s(o.lead_s);
    RateParams p;
    p.rate = o.rate;
    p.count = static_cast<std::size_t>(std::llround(o.rate * o.duration_s));
    p.wait_ms = o.wait_ms;
    OpenLoop loop(ctx, fleet.frontend(), fleet.results());
    Progress progress(p.count, Progress::wanted(o.json, o.progress));
    row.r = loop.run(task_kind(o.task, kPool), p, &progress);
    progress.finish();
    row.offset_s = static_cast<double>(row.r.t0_us - t0) / 1e6;
    sleep_s(o.tail_s);
    row.samples = sampler.stop();
  }
  fleet.stop();
  row.mean_processes = mean_of(row.samples, &PoolSample::processes);
  row.mean_rss_mib = mean_of(row.samples, &PoolSample::rss_bytes) / (1 << 20);
  for (const auto& s : row.samples) row.max_processes = std::max(row.max_processes, s.processes);
  row.end_processes = row.samples.empty() ? 0 : row.samples.back().processes;
  return row;
}

std::string sizing(const PoolSpec& p) {
  return p.adaptive() ? std::to_string(p.min_processes) + "-" + std::to_string(p.max_processes)
                      : std::to_string(p.processes);
}

double ms(uint64_t us) { return static_cast<double>(us) / 1e3; }

void print_table(const Opts& o, const std::vector<BurstRow>& rows) {
  std::printf("burst  task %s on pool `%s` (%d thread(s) per process), %s/s for %.1f s, "
              "%.1f s idle before, %.1f s after\n",
              o.task.c_str(), kPool, burst_threads(o), group_digits(static_cast<uint64_t>(o.rate)).c_str(),
              o.duration_s, o.lead_s, o.tail_s);
  std::printf("%-10s %9s %6s %5s  %22s  %21s %12s\n", "mode", "processes", "done", "lost",
              "queue wait p50/p99/max", "processes mean/max/end", "memory mean");
  for (const auto& r : rows) {
    char wait[64];
    std::snprintf(wait, sizeof wait, "%.1f/%.1f/%.1f ms", ms(r.r.queued_us.percentile(0.5)),
                  ms(r.r.queued_us.percentile(0.99)), ms(r.r.queued_us.max()));
    std::printf("%-10s %9s %6zu %5zu  %22s  %12.2f/%lu/%lu %8.1f MiB\n", r.mode.c_str(),
                sizing(r.pool).c_str(), r.r.done, r.r.lost + r.r.rejected + r.r.failed, wait,
                r.mean_processes, static_cast<unsigned long>(r.max_processes),
                static_cast<unsigned long>(r.end_processes), r.mean_rss_mib);
  }
  std::printf("(queue wait: the broker's queued_us of each task; processes and memory: status "
              "every %lld ms, memory = rss of the pool's live workers)\n",
              static_cast<long long>(kSamplePeriod.count()));
}

void print_json_rows(const Opts& o, const std::vector<BurstRow>& rows) {
  std::vector<JsonObject> out;
  for (const auto& r : rows) {
    const Histogram& q = r.r.queued_us;
    JsonObject row;
    row.add("mode", r.mode).add("processes", sizing(r.pool)).add("tasks", r.r.count)
        .add("done", r.r.done).add("failed", r.r.failed).add("rejected", r.r.rejected)
        .add("lost", r.r.lost).add("queue_wait_p50_ms", ms(q.percentile(0.5)), 3)
        .add("queue_wait_p99_ms", ms(q.percentile(0.99)), 3).add("queue_wait_max_ms", ms(q.max()), 3)
        .add("mean_processes", r.mean_processes, 2).add("max_processes", r.max_processes)
        .add("end_processes", r.end_processes).add("mean_rss_mib", r.mean_rss_mib, 1);
    out.push_back(row);
  }
  JsonObject j;
  j.add("scenario", "burst").add("task", o.task).add("threads_per_process", burst_threads(o))
      .add("rate", o.rate, 1).add("duration_s", o.duration_s, 2).add("lead_s", o.lead_s, 2)
      .add("tail_s", o.tail_s, 2).add("modes", out);
  print_json(j);
}

}  // namespace

std::vector<BurstRow> run_burst(const Opts& o) {
  if (!(o.rate > 0) || !(o.duration_s > 0)) throw std::invalid_argument("burst: --rate and --duration must be > 0");
  if (o.min_processes < 1 || o.max_processes < o.min_processes)
    throw std::invalid_argument("burst: wants 1 <= --min <= --max");
  std::vector<BurstRow> rows;
  for (const auto& mode : o.modes) rows.push_back(run_mode(o, mode));
  return rows;
}

int cmd_burst(const Opts& o) {
  for (const auto& mode : o.modes) pool_spec(o, mode);  // a bad mode fails before minutes of running
  std::vector<BurstRow> rows = run_burst(o);
  o.json ? print_json_rows(o, rows) : print_table(o, rows);
  bool clean = std::all_of(rows.begin(), rows.end(), [](const BurstRow& r) {
    return r.r.lost == 0 && r.r.rejected == 0 && r.r.failed == 0;
  });
  return write_plots(o, clean ? 0 : 1, {{"", burst_figure(o, rows)}});
}

}  // namespace zfleet::bench
