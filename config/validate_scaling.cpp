// Adaptive pools (issue 15, PROTOCOL.md "workers"): a pool takes either a
// fixed `processes` or min_processes / max_processes, never both; max is
// required once min is given; min <= max; and, with
// workers.max_total_processes, the pools' floors (fixed pools' processes,
// scaling pools' min) must fit under the cap, or the broker could never
// start what the file asks for.
#include "config/schema.h"

namespace zfleet::config {

void schema::check_scaling(const FleetConfig& cfg, const LineOf& line_of) {
  auto fail = [&](const std::string& key, const std::string& detail) {
    throw ConfigError(cfg.source, line_of(key), key, detail);
  };
  uint64_t floor = 0;
  for (const PoolConfig* p : cfg.workers.all()) {
    const std::string k = pool_key(*p);
    const bool has_min = line_of(k + ".min_processes") > 0, has_max = line_of(k + ".max_processes") > 0;
    if ((has_min || has_max) && line_of(k + ".processes") > 0) {
      fail(has_min ? k + ".min_processes" : k + ".max_processes",
           "a pool takes either `processes` (fixed) or min_processes/max_processes (adaptive), not both");
    }
    if (has_min && !has_max) fail(k + ".min_processes", "needs max_processes (the most processes the pool may grow to)");
    if (has_max && p->max_processes == 0) fail(k + ".max_processes", "must be at least 1 (a pool of 0 processes cannot grow)");
    if (p->scales() && p->min_processes > p->max_processes) {
      fail(k + ".min_processes", "is " + std::to_string(p->min_processes) + ", more than max_processes (" +
                                     std::to_string(p->max_processes) + ")");
    }
    if (!p->scales()) {
      for (const char* own : {".scale_up_after_ms", ".scale_down_after_ms", ".cooldown_ms"}) {
        if (line_of(k + own) > 0) fail(k + own, "only for an adaptive pool (one with max_processes)");
      }
    }
    floor += static_cast<uint64_t>(p->scales() ? p->min_processes : p->processes);
  }
  const int cap = cfg.workers.max_total_processes;
  if (cap > 0 && floor > static_cast<uint64_t>(cap)) {
    fail("workers.max_total_processes",
         "is " + std::to_string(cap) + ", under the " + std::to_string(floor) +
             " processes the pools need at least (fixed pools' processes plus adaptive pools' min_processes)");
  }
}

}  // namespace zfleet::config
