#include "benchmarks/bench/options.h"

#include <cstdio>
#include <filesystem>

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
  // Builtin tasks need no scripts, so this is a warning: py-* tasks would
  // fail with script_not_found.
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(s.scripts_dir) / "math_ops.py", ec))
    std::fprintf(stderr, "zfleet-bench: warning: no math_ops.py in %s: py-* tasks will fail "
                 "(give the script root with --scripts DIR)\n", s.scripts_dir.c_str());
  return s;
}

}  // namespace zfleet::bench
