// suite: one run, every bar of benchmarks/README.md ("Bars") the bench can measure on its own,
// against the transport limit measured at the start of the same run. It
// spawns the fleet of --spawn-io / --spawn-cpu (config/fleet.yaml's sizes by
// default) and, for the CPU-bound bar, two more (1 and 2 cpu workers) beside
// two plain python processes (vm_ceiling.h). --count N
// sizes it (throughput runs of N tasks; the other runs are scaled from N).
// Exit code: 0 when every bar is met, 3 when one is not (shown in the table
// and in JSON), 1 when tasks were lost. With --plot
// FILE.png it draws the idle latency (FILE-latency.png) and the CPU
// scaling (FILE-scaling.png).
#include <cstdio>
#include <string>
#include <vector>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/fleet.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/progress.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"
#include "benchmarks/bench/vm_ceiling.h"

namespace zfleet::bench {
namespace {

struct Bar {
  std::string name, measured, bar;
  double value = 0;  // the number compared with the bar
  bool pass = false;
};

// The 1-minute load average: figures from a busy machine are lower bounds.
double load_average() {
  double v = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &v) != 1) v = -1;
    std::fclose(f);
  }
  return v;
}

std::string per_s(double v) { return group_digits(static_cast<uint64_t>(v)) + "/s"; }

Opts variant(const Opts& o, const char* task, const char* type, std::size_t count) {
  Opts v = o;
  v.task = task;
  v.type = type;
  v.count = std::max<std::size_t>(count, 10);
  return v;
}

// Throughput and latency bars, against the transport limit `t`.
void measure_fleet_bars(const Opts& o, const Endpoints& ep, const TransportResult& t,
                        const FleetSpec& spec, std::vector<Bar>& bars, bool& complete,
                        std::vector<NamedFigure>& figs) {
  Progress progress(o.count, Progress::wanted(o.json, o.progress));
  (void)run_throughput(ep, variant(o, "echo", "io", o.count / 10), nullptr);  // warm-up
  progress.note("throughput, builtin:echo");
  auto echo = run_throughput(ep, variant(o, "echo", "io", o.count), &progress);
  double f = echo.tasks_per_s / t.pipelined_per_s;
  bars.push_back({"throughput, builtin no-op", format_number("%.1f%%", f * 100) + " (" + per_s(echo.tasks_per_s) + ")",
                  ">= 50% of transport", f, f >= 0.5});
  progress.note("throughput, Python no-op");
  auto py = run_throughput(ep, variant(o, "py-noop", "cpu", o.count), &progress);
  bars.push_back({"throughput, Python no-op", per_s(py.tasks_per_s), ">= 50,000/s", py.tasks_per_s,
                  py.tasks_per_s >= 50000});
  progress.note("latency, builtin:echo");
  auto lat = run_latency(ep, variant(o, "echo", "io", o.count / 10));
  figs.push_back({"latency", latency_figure(variant(o, "echo", "io", o.count / 10), lat)});
  uint64_t p50 = lat.round_trip_us.percentile(0.5), p99 = lat.round_trip_us.percentile(0.99);
  double ratio = static_cast<double>(p50) / static_cast<double>(t.round_trip_us.percentile(0.5));
  bars.push_back({"latency p50, no-op, idle", format_number("%.2fx", ratio) + " (" + std::to_string(p50) + " us)",
                  "<= 1.5x transport p50", ratio, ratio <= 1.5});
  bars.push_back({"latency p99, no-op, idle", std::to_string(p99) + " us", "< 1000 us",
                  static_cast<double>(p99), p99 < 1000});
  progress.note("balance, builtin:sleep:5");
  auto bal = run_balance(ep, variant(o, "sleep:5", "io", o.count / 10));
  bars.push_back({"balance, sleep:5", format_number("%.1f%%", bal.max_deviation * 100), "<= 10% from mean",
                  bal.max_deviation, bal.max_deviation <= 0.10});
  int slots = spec.io.processes * spec.io.threads;
  auto io_opts = variant(o, "sleep:10", "io", static_cast<std::size_t>(slots) * (o.count / 200));
  (void)run_throughput(ep, variant(o, "sleep:10", "io", slots * 10), nullptr);  // prefetch learns
  progress.note("IO-bound, builtin:sleep:10");
  auto io = run_throughput(ep, io_opts, &progress);
  double io_f = io.tasks_per_s / (slots * 100.0);
  bars.push_back({"IO-bound, sleep:10, " + std::to_string(slots) + " slots",
                  format_number("%.1f%%", io_f * 100) + " (" + per_s(io.tasks_per_s) + ")",
                  ">= 95% of slots/time", io_f, io_f >= 0.95});
  for (const auto* r : {&echo, &py, &io}) complete = complete && r->out.lost == 0;
  complete = complete && lat.errors == 0 && bal.lost == 0;
}

// Two CPU-bound workers against the machine's own ceiling: two plain python
// processes running the same loop (vm_ceiling.h), measured before and after
// the fleet's runs in this run (the ceiling moves with the VM's neighbours)
// and averaged. The bar: two workers reach 90% of their throughput. The
// 2-vs-1 speed-ups of both are shown too; zfleet's can be the lower of the
// two when its single worker beats a plain process (it often does here).
Bar cpu_scaling_bar(const Opts& o, bool& complete, std::vector<NamedFigure>& figs) {
  constexpr uint64_t kLoop = 20000;
  // A tenth of --count: about a second per fleet, long enough that one
  // noisy moment of the VM does not decide the bar.
  Opts s = variant(o, "py-cpu:20000", "cpu", o.count / 10);
  s.workers = {1, 2};
  s.threads = 1;
  s.warmup = 20;
  const std::string scripts = o.scripts.empty() ? default_scripts_dir() : o.scripts;
  const int calls = static_cast<int>(s.count) / 2;
  const Ceiling before = python_ceiling(scripts, kLoop, calls);
  auto rows = run_scaling(s);
  const Ceiling after = python_ceiling(scripts, kLoop, calls);
  figs.push_back({"scaling", scaling_figure(s, rows)});
  for (const auto& r : rows) complete = complete && r.r.out.lost == 0;
  const double x = rows[0].r.tasks_per_s > 0 ? rows[1].r.tasks_per_s / rows[0].r.tasks_per_s : 0;
  const Ceiling vm{calls, (before.one_s + after.one_s) / 2, (before.two_s + after.two_s) / 2};
  const double of = vm.two_per_s() > 0 ? rows[1].r.tasks_per_s / vm.two_per_s() : 0;
  return {"CPU-bound, 2 workers, py-cpu",
          format_number("%.0f%%", of * 100) + " (" + per_s(rows[1].r.tasks_per_s) + " of " + per_s(vm.two_per_s()) + "; " +
              format_number("%.2fx", x) + " vs " + format_number("%.2fx", vm.speedup()) + ")",
          ">= 90% of 2 python procs", of, of >= 0.9};
}

void print_suite(const Opts& o, const TransportResult& t, const FleetSpec& spec,
                 const std::vector<Bar>& bars, double load) {
  bool all = true;
  for (const auto& b : bars) all = all && b.pass;
  if (o.json) {
    std::vector<JsonObject> rows;
    for (const auto& b : bars)
      rows.push_back(JsonObject().add("name", b.name).add("measured", b.measured)
                         .add("value", b.value, 4).add("bar", b.bar).add("pass", b.pass));
    JsonObject j;
    j.add("scenario", "suite").add("count", o.count)
        .add("fleet", JsonObject().add("io", o.spawn_io).add("cpu", o.spawn_cpu))
        .add("load_average", load, 2).add("transport", transport_json(t)).add("bars", rows)
        .add("all_pass", all);
    print_json(j);
    return;
  }
  std::printf("suite  fleet: io %dx%d, cpu %dx%d (spawned); transport in this run: %s round "
              "trips/s pipelined, p50 %llu us\n", spec.io.processes, spec.io.threads,
              spec.cpu.processes, spec.cpu.threads,
              group_digits(static_cast<uint64_t>(t.pipelined_per_s)).c_str(),
              (unsigned long long)t.round_trip_us.percentile(0.5));
  std::printf("load average at the start: %.2f (on a busy machine, figures are lower bounds)\n",
              load);
  std::printf("%-32s %-24s %-22s %s\n", "bar", "measured", "wanted", "result");
  for (const auto& b : bars)
    std::printf("%-32s %-24s %-22s %s\n", b.name.c_str(), b.measured.c_str(), b.bar.c_str(),
                b.pass ? "pass" : "FAIL");
  std::string unmet;
  int n_unmet = 0;
  for (const auto& b : bars) {
    if (b.pass) continue;
    unmet += (n_unmet++ ? "; " : "") + b.name;
  }
  if (n_unmet) std::printf("NOT MET: %d of %zu bars: %s\n", n_unmet, bars.size(), unmet.c_str());
  else std::printf("all %zu bars met\n", bars.size());
  std::printf("not measured here: pyzmq producer (benchmarks/py), result cache "
              "(zfleet-cache-bench), memory per queued task, faults, bad input\n");
}

}  // namespace

int cmd_suite(const Opts& o) {
  FleetSpec spec = fleet_spec(o);
  if (spec.io.processes < 1 || spec.cpu.processes < 1)
    throw std::invalid_argument("suite needs io and cpu workers (--spawn-io, --spawn-cpu)");
  double load = load_average();
  TransportResult t = run_transport(o);
  std::vector<Bar> bars;
  std::vector<NamedFigure> figs;
  bool complete = true;
  {
    SpawnedFleet fleet(spec);
    measure_fleet_bars(o, {fleet.frontend(), fleet.results(), {}}, t, spec, bars, complete, figs);
  }
  bars.push_back(cpu_scaling_bar(o, complete, figs));
  print_suite(o, t, spec, bars, load);
  bool all = true;
  for (const auto& b : bars) all = all && b.pass;
  // 1: tasks were lost (the figures mean little); 3: every task ran, and at
  // least one bar is not met. A script can tell the two apart.
  return write_plots(o, !complete ? 1 : all ? 0 : 3, figs);
}

}  // namespace zfleet::bench
