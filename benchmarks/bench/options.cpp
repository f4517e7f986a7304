#include "benchmarks/bench/options.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "config/config_loader.h"

namespace zfleet::bench {

std::string default_scripts_dir() {
#ifdef ZFLEET_SOURCE_DIR
  return ZFLEET_SOURCE_DIR "/config/tasks";
#else
  return "config/tasks";
#endif
}

FleetSpec fleet_spec(const Opts& o) {
  FleetSpec s;
  s.io = parse_worker_group(o.spawn_io, 8);
  s.cpu = parse_worker_group(o.spawn_cpu, 1);
  s.scripts_dir = o.scripts.empty() ? default_scripts_dir() : o.scripts;
  s.defaults = o.spawn_defaults;
  if (s.defaults) {
    // What the broker will start on its own: wait for those workers.
    const auto d = config::default_config();
    s.io = {d.workers.io.processes, d.workers.io.threads};
    s.cpu = {d.workers.cpu.processes, d.workers.cpu.threads};
    s.queue_threads = d.broker.queue_threads;
    s.result_threads = d.broker.result_threads;
  } else if (std::sscanf(o.spawn_threads.c_str(), "%d,%d", &s.queue_threads, &s.result_threads) != 2 ||
      s.queue_threads < 1 || s.result_threads < 1)
    throw std::invalid_argument("--spawn-threads wants Q,R (queue_threads, result_threads), e.g. 1,1");
  // Builtin tasks need no scripts, so this is a warning: py-* tasks would
  // fail with script_not_found.
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(s.scripts_dir) / "math_ops.py", ec))
    std::fprintf(stderr, "zfleet-bench: warning: no math_ops.py in %s: py-* tasks will fail "
                 "(give the script root with --scripts DIR)\n", s.scripts_dir.c_str());
  return s;
}

}  // namespace zfleet::bench
