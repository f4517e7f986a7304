// zfleet-bench: load generator speaking only the public protocol (ZFP/1).
// Global options go before the scenario name.
//
// Where the fleet is:
//   -c fleet.yaml | --frontend EP --results EP   a running fleet (default endpoints if neither)
//        [--key FILE --server-key FILE]        its CURVE keys, when it has `security`
//   --spawn [--spawn-io 2x8] [--spawn-cpu 2x1] [--scripts DIR]
//        start zfleet-broker (from this binary's folder) with its workers on free
//        loopback ports for the run, stop it after. --spawn-io/--spawn-cpu P[xT]
//        imply --spawn; DIR is the script root (default config/tasks).
// Output: a table on stdout and a progress line on stderr when it is a terminal
//   (--no-progress to hide it); --json prints one JSON object instead.
//   --plot FILE.png [--plot-size WxH] [--plot-script] also draws the results
//   with gnuplot (every scenario but balance; suite writes FILE-<name>.png).
//   --vs-transport measures the transport limit first and reports every rate
//   and latency also as a fraction of it.
//
// Scenarios:
//   throughput --task py-noop --count 20000 [--batch 100] [--window 64] [--type cpu]
//   latency    --task echo --count 2000                    closed loop, one at a time
//   rate       --task echo --rate 5000 --duration 10       open loop (or --count N)
//   balance    --task sleep:5 --count 2000                 per-worker spread
//   scaling    --task py-cpu:20000 --type cpu --workers 1,2,4 --count 2000 [--threads T]
//              one fleet per worker count, started by the bench
//   transport  [--count 2000] [--window 64]                raw ZeroMQ limit
//   suite      one spawned fleet, every bar of benchmarks/README.md ("Bars"):
//              value, bar, pass/fail; exit 3 when a bar is not met
//   cpu-per-task --task echo --count 200000 [--idle 3]     CPU us per task, all
//              processes together (spawned fleet), and idle wake-ups/s
//   burst      --task sleep:50 --rate 240 --duration 4 --min 1 --max 4 [--threads 4]
//              [--lead 2] [--tail 8] [--modes fixed-min,fixed-max,adaptive]
//              one spawned fleet per mode with one pool, `burst`: queue wait,
//              process count and memory of a fixed-min, fixed-max and adaptive pool
// Tasks: echo, sleep:MS, spin:US, py-noop, py-sleep:MS, py-cpu:N (N loop
// iterations; the py-* ones use config/tasks/math_ops.py and sleepy.py, which
// must be under the fleet's script roots).
#include <cstdio>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "benchmarks/bench/fleet.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/scenarios.h"
#include "config/config_loader.h"

namespace {

using namespace zfleet;
using bench::Opts;

struct Commands {
  CLI::App *throughput, *latency, *rate, *balance, *scaling, *transport, *suite, *cpu, *burst, *forwarder, *echo;
  std::string echo_backend;
};

void add_global_options(CLI::App& app, Opts& o) {
  app.add_option("-c,--config", o.config, "fleet YAML to read endpoints from")->check(CLI::ExistingFile);
  app.add_option("--frontend", o.frontend, "frontend endpoint");
  app.add_option("--results", o.results, "results endpoint");
  app.add_option("--key", o.key, "own CURVE key pair (.key), for a fleet with `security`");
  app.add_option("--server-key", o.server_key, "the broker's CURVE public key (.pub)");
  app.add_flag("--spawn", o.spawn, "start a fleet for the run (zfleet-broker next to this binary)");
  app.add_option("--spawn-io", o.spawn_io, "io workers of the spawned fleet: P[xT]")->capture_default_str();
  app.add_option("--spawn-cpu", o.spawn_cpu, "cpu workers of the spawned fleet: P[xT]")->capture_default_str();
  app.add_option("--spawn-threads", o.spawn_threads, "Q,R: broker.queue_threads and result_threads of the spawned fleet")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            int q = 0, r = 0;
            char extra = 0;
            if (std::sscanf(v.c_str(), "%d,%d%c", &q, &r, &extra) != 2 || q < 1 || r < 1 || q > 64 || r > 64)
              return "wants Q,R with each in 1..64 (queue_threads, result_threads), got '" + v + "'";
            return "";
          },
          "Q,R"));
  app.add_flag("--spawn-defaults", o.spawn_defaults,
               "spawned fleet on the broker's defaults (no worker or thread keys: 4 io x 10, 2 cpu x 1, 1,1)");
  app.add_option("--scripts", o.scripts, "script root of spawned fleets")
      ->default_str(bench::default_scripts_dir());
  app.add_flag("--json", o.json, "machine-readable output");
  app.add_flag("!--no-progress", o.progress, "no progress line on stderr");
  app.add_option("--plot", o.plot, "also draw the results into this PNG (gnuplot)");
  app.add_option("--plot-size", o.plot_size, "WxH pixels of each plot panel")->capture_default_str();
  app.add_flag("--plot-script", o.plot_script, "keep the gnuplot script (with its data) as FILE.gp");
  app.add_flag("--vs-transport", o.vs_transport,
               "measure the transport limit first; report figures as fractions of it");
  app.add_option("--transport-count", o.transport_count, "one-at-a-time round trips of --vs-transport");
}

void add_task_options(CLI::App* sc, Opts& o) {
  sc->add_option("--task", o.task, "echo | sleep:MS | spin:US | py-noop | py-sleep:MS | py-cpu:N");
  sc->add_option("--type", o.type, "task type")->check(CLI::IsMember({"io", "cpu"}));
  sc->add_option("--count", o.count, "number of tasks");
  sc->add_option("--wait-ms", o.wait_ms, "how long to wait for results");
}

// burst's defaults differ from the other scenarios' (a slow task at a modest
// rate for a few seconds): set here, before parsing, so its --help shows them.
void add_burst(Commands& c, Opts& o, CLI::App& app) {
  c.burst = app.add_subcommand("burst", "a burst against a fixed-min, a fixed-max and an adaptive pool (spawned)");
  c.burst->preparse_callback([&o](std::size_t) {
    o.task = "sleep:50";
    o.rate = 240;
    o.duration_s = 4;
  });
  c.burst->add_option("--task", o.task, "echo | sleep:MS | spin:US | py-noop | py-sleep:MS | py-cpu:N (default sleep:50)");
  c.burst->add_option("--rate", o.rate, "tasks per second during the burst (default 240)");
  c.burst->add_option("--duration", o.duration_s, "seconds of the burst (default 4)");
  c.burst->add_option("--min", o.min_processes, "processes of fixed-min, and the adaptive pool's min")->capture_default_str();
  c.burst->add_option("--max", o.max_processes, "processes of fixed-max, and the adaptive pool's max")->capture_default_str();
  c.burst->add_option("--threads", o.threads, "threads per process (default 4)");
  c.burst->add_option("--lead", o.lead_s, "idle seconds before the burst")->capture_default_str();
  c.burst->add_option("--tail", o.tail_s, "idle seconds after the last result")->capture_default_str();
  c.burst->add_option("--modes", o.modes, "which pools, in order")
      ->delimiter(',')
      ->check(CLI::IsMember({"fixed-min", "fixed-max", "adaptive"}));
  c.burst->add_option("--wait-ms", o.wait_ms, "how long to wait for results");
}

Commands add_scenarios(CLI::App& app, Opts& o) {
  Commands c{};
  c.throughput = app.add_subcommand("throughput", "N tasks pipelined, end to end");
  c.latency = app.add_subcommand("latency", "closed loop: submit, ack, get with wait, one at a time");
  c.rate = app.add_subcommand("rate", "open loop at a fixed rate; latency from the intended send time");
  c.balance = app.add_subcommand("balance", "equal tasks: per-worker counts from status");
  c.scaling = app.add_subcommand("scaling", "throughput over fleets of 1, 2, 4... workers (spawned)");
  for (auto* sc : {c.throughput, c.latency, c.rate, c.balance, c.scaling}) add_task_options(sc, o);
  for (auto* sc : {c.throughput, c.balance, c.scaling}) {
    sc->add_option("--batch", o.batch, "tasks per submit_batch (1 = plain submit)");
    sc->add_option("--window", o.window, "requests outstanding at once");
  }
  c.rate->add_option("--rate", o.rate, "tasks per second")->required();
  c.rate->add_option("--duration", o.duration_s, "seconds of sending (instead of --count)");
  c.scaling->add_option("--workers", o.workers, "worker counts, e.g. 1,2,4")->delimiter(',');
  c.scaling->add_option("--threads", o.threads, "threads per worker (default 1 for cpu, 8 for io)");
  c.scaling->add_option("--warmup", o.warmup, "tasks run first on each fleet (default count/10)");
  c.transport = app.add_subcommand("transport", "raw ZeroMQ forwarding round trip (the transport limit)");
  c.transport->add_option("--count", o.transport_count, "one-at-a-time round trips (x10 pipelined)");
  c.transport->add_option("--window", o.transport_window, "messages outstanding when pipelined");
  c.suite = app.add_subcommand(
      "suite", "spawned fleet, every bar of benchmarks/README.md: value, bar, pass/fail (exit 3: one not met)");
  c.suite->add_option("--count", o.count, "tasks per throughput run (the other runs scale with it)");
  c.cpu = app.add_subcommand("cpu-per-task",
                             "spawned fleet: CPU time of bench + broker + workers per task, and idle wake-ups");
  add_task_options(c.cpu, o);
  c.cpu->add_option("--batch", o.batch, "tasks per submit_batch (1 = plain submit)");
  c.cpu->add_option("--window", o.window, "requests outstanding at once");
  c.cpu->add_option("--idle", o.idle_s, "seconds of idle fleet to measure wake-ups over")->capture_default_str();
  add_burst(c, o, app);
  c.forwarder = app.add_subcommand("transport-forwarder")->group("");
  c.echo = app.add_subcommand("transport-echo")->group("");
  c.echo->add_option("backend", c.echo_backend)->required();
  return c;
}

// The scenarios that run against one fleet: a running one or one spawned
// for them (stopped by SpawnedFleet's destructor even when they throw).
int run_on_fleet(const Opts& o, const Commands& c, const bench::TransportResult* ref) {
  auto body = [&](const bench::Endpoints& ep) {
    if (*c.throughput) return bench::cmd_throughput(o, ep, ref);
    if (*c.latency) return bench::cmd_latency(o, ep, ref);
    if (*c.rate) return bench::cmd_rate(o, ep, ref);
    return bench::cmd_balance(o, ep, ref);
  };
  if (!o.spawn) {
    bench::Endpoints ep{o.frontend, o.results, {}};
    config::fill_client_endpoints(o.config, ep.frontend, ep.results);
    auto curve = common::client_curve(o.key, o.server_key);
    if (!curve) throw std::invalid_argument(curve.error());
    ep.curve = std::move(*curve);
    return body(ep);
  }
  bench::SpawnedFleet fleet(bench::fleet_spec(o));
  int rc = body({fleet.frontend(), fleet.results(), {}});
  fleet.stop();
  return rc;
}

// Why --plot cannot work for this run, found before minutes of measuring.
std::string plot_problem(const Opts& o, const Commands& c) {
  if (o.plot.empty()) return "";
  if (*c.balance) return "--plot: balance has nothing to plot (per-worker counts are a table)";
  if (*c.cpu) return "--plot: cpu-per-task has nothing to plot (a table of CPU times)";
  return bench::check_plot_target(o);
}

int run(const Opts& o, const Commands& c) {
  if (*c.transport) return bench::cmd_transport(o);
  if (*c.suite) return bench::cmd_suite(o);
  if (*c.cpu) return bench::cmd_cpu_per_task(o);
  if (*c.burst) return bench::cmd_burst(o);
  std::optional<bench::TransportResult> ref;
  if (o.vs_transport) ref = bench::run_transport(o);
  if (*c.scaling) return bench::cmd_scaling(o, ref ? &*ref : nullptr);
  return run_on_fleet(o, c, ref ? &*ref : nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zfleet-bench: load generator for a zfleet broker (public protocol only)"};
  app.require_subcommand(1);
  Opts o;
  add_global_options(app, o);
  Commands c = add_scenarios(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*c.forwarder) return bench::run_forwarder();
  if (*c.echo) return bench::run_echo(c.echo_backend.c_str());
  if (app.count("--spawn-io") || app.count("--spawn-cpu") || app.count("--spawn-threads") || o.spawn_defaults) o.spawn = true;
  if (std::string err = plot_problem(o, c); !err.empty()) {
    std::cerr << "zfleet-bench: " << err << "\n";
    return 2;
  }
  try {
    return run(o, c);
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet-bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "zfleet-bench: " << e.what() << "\n";
    return 1;
  }
}
