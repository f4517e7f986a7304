// zfleet-bench: load generator speaking only the public protocol (ZFP/1).
//   zfleet-bench [-c fleet.yaml | --frontend EP --results EP] throughput
//                --task py-noop --count 20000 [--batch 100] [--window 64] [--type cpu]
//   zfleet-bench ... latency --task echo --count 2000
//   zfleet-bench transport [--count 2000] [--window 64]   (raw ZeroMQ limit)
//   zfleet-bench ... balance --task sleep:5 --count 2000    (per-worker spread)
// Tasks: echo, sleep:MS, spin:US, py-noop, py-sleep:MS, py-cpu:N (N loop iterations; the py-*
// ones use config/tasks/math_ops.py and sleepy.py, which must be under the
// fleet's script roots). Prints a table, or JSON with --json.
#include <cmath>
#include <cstdio>
#include <thread>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "benchmarks/bench/histogram.h"
#include "benchmarks/bench/load_client.h"
#include "benchmarks/bench/transport.h"
#include "common/clock.h"
#include "config/config_loader.h"

namespace {

using namespace zfleet;

struct Opts {
  std::string config, frontend, results, task = "echo", type = "io";
  std::size_t count = 20000, batch = 100, window = 64;
  uint64_t wait_ms = 60000;
  bool json = false;
};

void print_latency(const char* what, const bench::Histogram& h, bool json) {
  if (json) {
    std::printf("\"%s\": {\"p50_us\": %llu, \"p90_us\": %llu, \"p99_us\": %llu, \"p999_us\": %llu, "
                "\"max_us\": %llu}", what, (unsigned long long)h.percentile(0.5),
                (unsigned long long)h.percentile(0.9), (unsigned long long)h.percentile(0.99),
                (unsigned long long)h.percentile(0.999), (unsigned long long)h.max());
    return;
  }
  std::printf("%-10s p50 %6llu us  p90 %6llu us  p99 %6llu us  p99.9 %6llu us  max %7llu us\n",
              what, (unsigned long long)h.percentile(0.5), (unsigned long long)h.percentile(0.9),
              (unsigned long long)h.percentile(0.99), (unsigned long long)h.percentile(0.999),
              (unsigned long long)h.max());
}

int throughput(const Opts& o) {
  zmq::context_t ctx(1);
  bench::LoadClient client(ctx, o.frontend, o.results);
  auto kind = bench::task_kind(o.task, o.type);
  bench::Outcome out;
  uint64_t t0 = common::now_us();
  auto ids = client.submit(kind, o.count, o.batch, o.window, out);
  uint64_t t1 = common::now_us();
  client.collect(ids, std::chrono::milliseconds(o.wait_ms), out);
  uint64_t t2 = common::now_us();
  double secs = static_cast<double>(t2 - t0) / 1e6;
  bench::Histogram queued, run;
  for (auto v : out.queued_us) queued.record(v);
  for (auto v : out.run_us) run.record(v);
  if (o.json) {
    std::printf("{\"scenario\": \"throughput\", \"task\": \"%s\", \"type\": \"%s\", \"count\": %zu, "
                "\"accepted\": %zu, \"rejected\": %zu, \"done\": %zu, \"failed\": %zu, \"lost\": %zu, "
                "\"seconds\": %.3f, \"tasks_per_s\": %.0f, \"accept_per_s\": %.0f, ",
                o.task.c_str(), o.type.c_str(), o.count, out.accepted, out.rejected, out.done,
                out.failed, out.lost, secs, static_cast<double>(out.done) / secs,
                static_cast<double>(out.accepted) * 1e6 / static_cast<double>(t1 - t0));
    print_latency("queued", queued, true);
    std::printf(", ");
    print_latency("run", run, true);
    std::printf("}\n");
  } else {
    std::printf("throughput  task %s (%s), %zu tasks, batch %zu, window %zu\n", o.task.c_str(),
                o.type.c_str(), o.count, o.batch, o.window);
    std::printf("accepted %zu  rejected %zu  done %zu  failed %zu  lost %zu\n", out.accepted,
                out.rejected, out.done, out.failed, out.lost);
    std::printf("end to end %.3f s = %.0f tasks/s   (acks at %.0f/s)\n", secs,
                static_cast<double>(out.done) / secs,
                static_cast<double>(out.accepted) * 1e6 / static_cast<double>(t1 - t0));
    print_latency("queued", queued, false);
    print_latency("run", run, false);
  }
  return out.lost == 0 && out.rejected == 0 ? 0 : 1;
}

int latency(const Opts& o) {
  zmq::context_t ctx(1);
  bench::LoadClient client(ctx, o.frontend, o.results);
  auto kind = bench::task_kind(o.task, o.type);
  bench::Histogram h;
  std::size_t errors = 0;
  for (std::size_t i = 0; i < o.count; ++i) {
    uint64_t t0 = common::now_us();
    bool ok = client.round_trip(kind, o.wait_ms);
    uint64_t t1 = common::now_us();
    ok ? h.record(t1 - t0) : (void)++errors;
  }
  if (o.json) {
    std::printf("{\"scenario\": \"latency\", \"task\": \"%s\", \"count\": %zu, \"errors\": %zu, ",
                o.task.c_str(), o.count, errors);
    print_latency("round_trip", h, true);
    std::printf("}\n");
  } else {
    std::printf("latency  task %s (%s): %zu closed-loop submit+ack+get(wait) round trips, %zu errors\n",
                o.task.c_str(), o.type.c_str(), o.count, errors);
    print_latency("round trip", h, false);
  }
  return errors == 0 ? 0 : 1;
}

// Equal tasks spread over the workers of one type: per-worker counts from
// status (before and after), and the largest deviation from the mean.
int balance(const Opts& o) {
  zmq::context_t ctx(1);
  bench::LoadClient client(ctx, o.frontend, o.results);
  auto kind = bench::task_kind(o.task, o.type);
  auto before = client.worker_counts(o.type);
  bench::Outcome out;
  auto ids = client.submit(kind, o.count, o.batch, o.window, out);
  client.collect(ids, std::chrono::milliseconds(o.wait_ms), out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // status refreshes every 100 ms
  auto after = client.worker_counts(o.type);
  std::vector<std::pair<std::string, uint64_t>> ran;
  uint64_t total = 0;
  for (const auto& [id, n] : after) {
    uint64_t delta = n - (before.count(id) ? before[id] : 0);
    ran.emplace_back(id, delta);
    total += delta;
  }
  double mean = ran.empty() ? 0 : static_cast<double>(total) / static_cast<double>(ran.size());
  double worst = 0;
  for (const auto& [id, n] : ran) worst = std::max(worst, std::abs(static_cast<double>(n) - mean) / std::max(mean, 1.0));
  if (o.json) {
    std::printf("{\"scenario\": \"balance\", \"task\": \"%s\", \"done\": %zu, \"workers\": {",
                o.task.c_str(), out.done);
    for (std::size_t i = 0; i < ran.size(); ++i)
      std::printf("%s\"%s\": %llu", i ? ", " : "", ran[i].first.c_str(), (unsigned long long)ran[i].second);
    std::printf("}, \"max_deviation_pct\": %.1f}\n", worst * 100);
  } else {
    std::printf("balance  task %s (%s), %zu done over %zu workers (mean %.0f)\n", o.task.c_str(),
                o.type.c_str(), out.done, ran.size(), mean);
    for (const auto& [id, n] : ran) std::printf("  %-32s %8llu\n", id.c_str(), (unsigned long long)n);
    std::printf("largest deviation from the mean: %.1f%%\n", worst * 100);
  }
  return out.lost == 0 ? 0 : 1;
}

int transport(const Opts& o) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto r = bench::measure_transport(self.c_str(), o.count, o.window);
  if (o.json) {
    std::printf("{\"scenario\": \"transport\", \"count\": %zu, \"pipelined_per_s\": %.0f, ", o.count,
                r.pipelined_per_s);
    print_latency("round_trip", r.round_trip_us, true);
    std::printf("}\n");
  } else {
    std::printf("transport limit: producer DEALER -> ROUTER/ROUTER forwarder -> echo DEALER and back\n"
                "(three processes, 64-byte messages)\n");
    print_latency("round trip", r.round_trip_us, false);
    std::printf("pipelined (window %zu): %.0f round trips/s\n", o.window, r.pipelined_per_s);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zfleet-bench: load generator for a zfleet broker (public protocol only)"};
  app.require_subcommand(1);
  Opts o;
  app.add_option("-c,--config", o.config, "fleet YAML to read endpoints from")->check(CLI::ExistingFile);
  app.add_option("--frontend", o.frontend, "frontend endpoint");
  app.add_option("--results", o.results, "results endpoint");
  app.add_flag("--json", o.json, "machine-readable output");
  auto* tp = app.add_subcommand("throughput", "N tasks pipelined, end to end");
  auto* lat = app.add_subcommand("latency", "closed loop: submit, ack, get with wait, one at a time");
  auto* bal = app.add_subcommand("balance", "equal tasks: per-worker counts from status");
  for (auto* sc : {tp, lat, bal}) {
    sc->add_option("--task", o.task, "echo | sleep:MS | spin:US | py-noop | py-sleep:MS | py-cpu:N");
    sc->add_option("--type", o.type, "task type")->check(CLI::IsMember({"io", "cpu"}));
    sc->add_option("--count", o.count, "number of tasks");
    sc->add_option("--wait-ms", o.wait_ms, "how long to wait for results");
  }
  auto* tr = app.add_subcommand("transport", "raw ZeroMQ forwarding round trip (the transport limit)");
  tr->add_option("--count", o.count, "one-at-a-time round trips (x10 pipelined)");
  tr->add_option("--window", o.window, "messages outstanding when pipelined");
  auto* fwd = app.add_subcommand("transport-forwarder")->group("");
  auto* echo = app.add_subcommand("transport-echo")->group("");
  std::string echo_backend;
  echo->add_option("backend", echo_backend)->required();
  for (auto* sc : {tp, bal}) {
    sc->add_option("--batch", o.batch, "tasks per submit_batch (1 = plain submit)");
    sc->add_option("--window", o.window, "requests outstanding at once");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*fwd) return bench::run_forwarder();
  if (*echo) return bench::run_echo(echo_backend.c_str());
  if (*tr) {
    if (o.count == 20000) o.count = 2000;  // default for this scenario
    return transport(o);
  }
  try {
    config::fill_client_endpoints(o.config, o.frontend, o.results);
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet-bench: " << e.what() << "\n";
    return 2;
  }
  try {
    if (*bal) return balance(o);
    return *tp ? throughput(o) : latency(o);
  } catch (const std::exception& e) {
    std::cerr << "zfleet-bench: " << e.what() << "\n";
    return 1;
  }
}
