// The machine's own ceiling for CPU scaling (issue 14, bar 4): how fast
// two plain /usr/bin/python3 processes get through the same loop together
// (and how much faster than one), measured in the same run as the fleet's
// scaling. On a VM whose two vCPUs share a core (or are throttled) that is
// well under twice one process, and no task system can beat it; the suite
// judges two zfleet workers against it.
//
// Thread safety: functions only; each call spawns and waits for its own
// processes.
#pragma once

#include <cstdint>
#include <string>

namespace zfleet::bench {

struct Ceiling {
  int calls = 0;
  double one_s = 0;  // one process, `calls` calls
  double two_s = 0;  // two processes at once, `calls` calls each
  double speedup() const { return two_s > 0 ? 2 * one_s / two_s : 0; }
  // Calls a second of two processes together: what two CPU-bound workers
  // could reach at best on this machine right now.
  double two_per_s() const { return two_s > 0 ? 2 * calls / two_s : 0; }
};

// Runs math_ops.burn(n) `calls` times in one python process, then in two
// at once (python loaded from `scripts`, the fleet's script root); each
// process times its own loop, start-up left out. Throws
// std::runtime_error when python cannot be run or fails.
Ceiling python_ceiling(const std::string& scripts, uint64_t n, int calls);

}  // namespace zfleet::bench
