// cpu-per-task: what one task costs in CPU time, all processes of the path
// together (the bench as producer and consumer, the broker, the workers),
// measured from /proc around a throughput run on a fleet of its own, after
// a warm-up (start-up and module loading are not counted). Before the run,
// the fleet sits idle for --idle seconds: the CPU it burns and the times its
// threads wake up then are what an idle fleet costs (heartbeats and timers).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "benchmarks/bench/fleet.h"
#include "benchmarks/bench/proc_cpu.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"

namespace zfleet::bench {
namespace {

std::vector<CpuGroup> groups_of(const SpawnedFleet& fleet) {
  return {{"bench", {getpid()}}, {"broker", {fleet.broker_pid()}},
          {"workers", children_of(fleet.broker_pid())}};
}

std::vector<CpuSample> sample_all(const std::vector<CpuGroup>& groups) {
  std::vector<CpuSample> out;
  for (const auto& g : groups) out.push_back(g.sample());
  return out;
}

// The bars of issue 14 for the two tasks it names (0: no bar).
double bar_us(const std::string& task) {
  if (task == "echo") return 30;
  if (task == "py-noop") return 35;
  return 0;
}

}  // namespace

CpuPerTaskResult run_cpu_per_task(const Opts& o) {
  SpawnedFleet fleet(fleet_spec(o));
  const Endpoints ep{fleet.frontend(), fleet.results(), {}};
  Opts warm = o;
  warm.count = std::max<std::size_t>(o.count / 10, 100);
  run_throughput(ep, warm, nullptr);
  const auto groups = groups_of(fleet);
  CpuPerTaskResult r;
  // Idle: nothing submitted, results fetched; only heartbeats and timers run.
  const auto idle0 = sample_all(groups);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_s));
  const auto idle1 = sample_all(groups);
  const auto run0 = sample_all(groups);
  r.run = run_throughput(ep, o, nullptr);
  const auto run1 = sample_all(groups);
  const double tasks = static_cast<double>(std::max<std::size_t>(r.run.out.done, 1));
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const CpuSample idle = idle1[i] - idle0[i], run = run1[i] - run0[i];
    CpuPerTaskResult::Group g{groups[i].name, static_cast<double>(run.cpu_us) / tasks,
                              static_cast<double>(idle.cpu_us) / 1000.0 / o.idle_s,
                              static_cast<double>(idle.voluntary_switches) / o.idle_s};
    r.us_per_task += g.us_per_task;
    r.idle_wakeups_per_s += g.idle_wakeups_per_s;
    r.groups.push_back(std::move(g));
  }
  r.tasks_per_s = r.run.tasks_per_s;
  fleet.stop();
  return r;
}

int cmd_cpu_per_task(const Opts& o) {
  const CpuPerTaskResult r = run_cpu_per_task(o);
  const double bar = bar_us(o.task);
  const bool lost = r.run.out.lost > 0 || r.run.out.rejected > 0;
  if (o.json) {
    std::vector<JsonObject> groups;
    for (const auto& g : r.groups) {
      JsonObject j;
      j.add("name", g.name).add("us_per_task", g.us_per_task, 2)
          .add("idle_cpu_ms_per_s", g.idle_cpu_ms_per_s, 2).add("idle_wakeups_per_s", g.idle_wakeups_per_s, 1);
      groups.push_back(std::move(j));
    }
    JsonObject j;
    j.add("scenario", "cpu-per-task").add("task", o.task).add("type", o.type).add("count", o.count)
        .add("done", r.run.out.done).add("lost", r.run.out.lost).add("tasks_per_s", r.tasks_per_s, 0)
        .add("us_per_task", r.us_per_task, 2).add("idle_s", o.idle_s, 1)
        .add("idle_wakeups_per_s", r.idle_wakeups_per_s, 1).add("processes", groups);
    if (bar > 0) j.add("bar_us", bar, 0).add("pass", r.us_per_task < bar);
    print_json(j);
  } else {
    std::printf("cpu-per-task  task %s (%s), %zu tasks at %.0f tasks/s; idle %.1f s before\n", o.task.c_str(),
                o.type.c_str(), r.run.out.done, r.tasks_per_s, o.idle_s);
    std::printf("%-8s %12s %16s %16s\n", "process", "us/task", "idle CPU ms/s", "idle wakeups/s");
    for (const auto& g : r.groups)
      std::printf("%-8s %12.2f %16.2f %16.1f\n", g.name.c_str(), g.us_per_task, g.idle_cpu_ms_per_s,
                  g.idle_wakeups_per_s);
    std::printf("%-8s %12.2f %16s %16.1f\n", "all", r.us_per_task, "", r.idle_wakeups_per_s);
    if (bar > 0)
      std::printf("bar: under %.0f us/task: %s\n", bar, r.us_per_task < bar ? "pass" : "FAIL");
  }
  // A bar missed is reported, not an error here (`suite` fails on bars).
  return lost ? 1 : 0;
}

}  // namespace zfleet::bench
