// scaling: the same throughput load over fleets of 1, 2, 4... worker
// processes of one type, each fleet started (and stopped) by the bench, so
// nothing but the worker count changes between rows. Speedup is against
// the first row; efficiency is speedup / (workers / first row's workers).
#include <cstdio>
#include <stdexcept>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/fleet.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/progress.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"

namespace zfleet::bench {
namespace {

int scaling_threads(const Opts& o) { return o.threads > 0 ? o.threads : (o.type == "cpu" ? 1 : 8); }

double speedup(const std::vector<ScalingRow>& rows, std::size_t i) {
  double base = rows.front().r.tasks_per_s;
  return base > 0 ? rows[i].r.tasks_per_s / base : 0;
}

double efficiency(const std::vector<ScalingRow>& rows, std::size_t i) {
  double ratio = static_cast<double>(rows[i].workers) / static_cast<double>(rows.front().workers);
  return speedup(rows, i) / ratio;
}

void print_json_rows(const Opts& o, const std::vector<ScalingRow>& rows, const TransportResult* ref) {
  std::vector<JsonObject> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i].r;
    JsonObject row;
    row.add("workers", rows[i].workers).add("accepted", r.out.accepted).add("done", r.out.done)
        .add("failed", r.out.failed).add("lost", r.out.lost).add("seconds", r.seconds, 3)
        .add("tasks_per_s", r.tasks_per_s, 0).add("speedup", speedup(rows, i), 3)
        .add("efficiency", efficiency(rows, i), 3).add("run", latency_json(r.run_us));
    if (ref) row.add("vs_transport", JsonObject().add("tasks_per_s", r.tasks_per_s / ref->pipelined_per_s, 4));
    out.push_back(row);
  }
  JsonObject j;
  j.add("scenario", "scaling").add("task", o.task).add("type", o.type).add("count", o.count)
      .add("threads_per_worker", scaling_threads(o)).add("rows", out);
  if (ref) j.add("transport", transport_json(*ref));
  print_json(j);
}

void print_table(const Opts& o, const std::vector<ScalingRow>& rows, const TransportResult* ref) {
  std::printf("scaling  task %s (%s), %zu tasks per fleet, %d thread(s) per worker\n",
              o.task.c_str(), o.type.c_str(), o.count, scaling_threads(o));
  std::printf("%8s %12s %9s %11s %8s %6s%s\n", "workers", "tasks/s", "speedup", "efficiency",
              "done", "lost", ref ? "  vs transport" : "");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i].r;
    std::printf("%8d %12s %8.2fx %10.1f%% %8zu %6zu", rows[i].workers,
                group_digits(static_cast<uint64_t>(r.tasks_per_s)).c_str(), speedup(rows, i),
                efficiency(rows, i) * 100, r.out.done, r.out.lost);
    if (ref) std::printf("  %11.1f%%", 100 * r.tasks_per_s / ref->pipelined_per_s);
    std::printf("\n");
  }
  if (ref) print_vs_transport({}, ref);
}

}  // namespace

std::vector<ScalingRow> run_scaling(const Opts& o) {
  if (o.workers.empty()) throw std::invalid_argument("--workers needs at least one count");
  FleetSpec spec = fleet_spec(o);
  WorkerGroup none{0, 1};
  std::vector<ScalingRow> rows;
  for (int w : o.workers) {
    if (w < 1) throw std::invalid_argument("--workers counts must be >= 1");
    WorkerGroup g{w, scaling_threads(o)};
    spec.io = o.type == "io" ? g : none;
    spec.cpu = o.type == "cpu" ? g : none;
    Progress progress(o.count, Progress::wanted(o.json, o.progress));
    progress.note("starting a fleet of " + std::to_string(w) + " " + o.type + " worker(s)...");
    SpawnedFleet fleet(spec);
    Endpoints ep{fleet.frontend(), fleet.results(), {}};
    Opts warm = o;  // let adaptive prefetch learn the task times first
    warm.count = o.warmup ? o.warmup : std::max<std::size_t>(o.count / 10, 1);
    progress.note("warm-up: " + std::to_string(warm.count) + " tasks");
    (void)run_throughput(ep, warm, nullptr);
    rows.push_back({w, run_throughput(ep, o, &progress)});
  }
  return rows;
}

int cmd_scaling(const Opts& o, const TransportResult* ref) {
  auto rows = run_scaling(o);
  o.json ? print_json_rows(o, rows, ref) : print_table(o, rows, ref);
  int rc = 0;
  for (const auto& row : rows)
    if (row.r.out.lost || row.r.out.rejected) rc = 1;
  return write_plots(o, rc, {{"", scaling_figure(o, rows)}});
}

}  // namespace zfleet::bench
