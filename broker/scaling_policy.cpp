#include "broker/scaling_policy.h"

#include <algorithm>

namespace zfleet::broker {
namespace {

std::string figures(const PoolLoad& l) {
  return std::to_string(l.busy) + " of " + std::to_string(l.slots) + " slots busy, oldest queued task waited " +
         std::to_string(l.oldest_wait_us / 1000) + " ms";
}

bool wants_more(const config::PoolConfig& p, const PoolLoad& l) {
  return l.starting == 0 && l.oldest_wait_us >= p.scale_up_after_ms * 1000 && l.busy >= l.slots;
}

}  // namespace

double scale_up_pressure(const config::PoolConfig& pool, const PoolLoad& load) {
  return static_cast<double>(load.oldest_wait_us) / std::max<double>(1000.0 * pool.scale_up_after_ms, 1.0);
}

ScaleDecision decide_scaling(const config::PoolConfig& p, const PoolLoad& l, PoolScaleState& s, uint64_t now) {
  const bool fits_fewer = l.processes > 0 && l.busy <= (l.processes - 1) * p.threads &&
                          l.oldest_wait_us < p.scale_up_after_ms * 1000;
  if (!fits_fewer) {
    s.fit_since_us = 0;
  } else if (s.fit_since_us == 0) {
    s.fit_since_us = now;
  }
  if (wants_more(p, l) && l.draining > 0) {
    s.last_change_us = now;  // the drain is undone: a change of the pool
    return {ScaleDecision::keep, "scale-down cancelled: " + figures(l)};
  }
  const bool cooled = s.last_change_us == 0 || now - s.last_change_us >= p.cooldown_ms * 1000;
  if (!cooled) return {};
  if (wants_more(p, l) && l.processes < p.max_processes) {
    return {ScaleDecision::up, figures(l) + " (scale_up_after_ms " + std::to_string(p.scale_up_after_ms) + ")"};
  }
  if (s.fit_since_us != 0 && now - s.fit_since_us >= p.scale_down_after_ms * 1000 &&
      l.processes > p.min_processes && l.draining == 0) {
    return {ScaleDecision::down, figures(l) + ": they fit in one process fewer for " +
                                     std::to_string((now - s.fit_since_us) / 1000) + " ms (scale_down_after_ms " +
                                     std::to_string(p.scale_down_after_ms) + ")"};
  }
  return {};
}

}  // namespace zfleet::broker
