// The machine's own ceiling for CPU scaling (issue 14, bar 4): how much
// faster two plain /usr/bin/python3 processes get through the same loop as
// one, measured in the same run as the fleet's scaling. On a VM whose two
// vCPUs share a core (or are throttled) that is well under 2x, and no task
// system can beat it; the suite judges zfleet's 2-vs-1 scaling against it.
//
// Thread safety: functions only; each call spawns and waits for its own
// processes.
#pragma once

#include <cstdint>
#include <string>

namespace zfleet::bench {

struct Ceiling {
  double one_s = 0;  // one process, `calls` calls
  double two_s = 0;  // two processes at once, `calls` calls each
  double speedup() const { return two_s > 0 ? 2 * one_s / two_s : 0; }
};

// Runs math_ops.burn(n) `calls` times in one python process, then in two
// at once (python loaded from `scripts`, the fleet's script root). Throws
// std::runtime_error when python cannot be run or fails.
Ceiling python_ceiling(const std::string& scripts, uint64_t n, int calls);

}  // namespace zfleet::bench
