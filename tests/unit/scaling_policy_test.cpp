// Unit tests of broker/scaling_policy: when an adaptive pool grows, shrinks,
// cancels a drain or waits, from given figures and times (no processes).
#include "broker/scaling_policy.h"

#include <doctest/doctest.h>

using zfleet::broker::decide_scaling;
using zfleet::broker::PoolLoad;
using zfleet::broker::PoolScaleState;
using zfleet::broker::ScaleDecision;
using zfleet::broker::scale_up_pressure;
using zfleet::config::PoolConfig;

namespace {

constexpr uint64_t kMs = 1000;

PoolConfig pool(int min_p = 1, int max_p = 3) {
  PoolConfig p;
  p.name = "web";
  p.threads = 2;
  p.min_processes = min_p;
  p.max_processes = max_p;
  p.scale_up_after_ms = 500;
  p.scale_down_after_ms = 2000;
  p.cooldown_ms = 1000;
  return p;
}

PoolLoad load(int processes, int busy, uint64_t wait_ms, int starting = 0, int draining = 0) {
  PoolLoad l;
  l.processes = processes;
  l.starting = starting;
  l.draining = draining;
  l.slots = (processes - draining) * 2;  // a draining process takes no task: its slots do not count
  l.busy = busy;
  l.oldest_wait_us = wait_ms * kMs;
  return l;
}

}  // namespace

TEST_SUITE("scaling_policy") {
  TEST_CASE("grows when the oldest task waited past scale_up_after_ms with every slot busy") {
    PoolScaleState s;
    CHECK(decide_scaling(pool(), load(1, 2, 499), s, 10'000 * kMs).kind == ScaleDecision::none);
    CHECK(decide_scaling(pool(), load(1, 1, 900), s, 10'000 * kMs).kind == ScaleDecision::none);  // a slot free
    auto d = decide_scaling(pool(), load(1, 2, 500), s, 10'000 * kMs);
    CHECK(d.kind == ScaleDecision::up);
    CHECK(d.reason == "2 of 2 slots busy, oldest queued task waited 500 ms (scale_up_after_ms 500)");
  }

  TEST_CASE("never past max, never while a process is starting, never inside the cool-down") {
    PoolScaleState s;
    CHECK(decide_scaling(pool(1, 3), load(3, 6, 5000), s, 10'000 * kMs).kind == ScaleDecision::none);
    CHECK(decide_scaling(pool(), load(2, 4, 5000, /*starting=*/1), s, 10'000 * kMs).kind == ScaleDecision::none);
    s.last_change_us = 9'500 * kMs;
    CHECK(decide_scaling(pool(), load(2, 4, 5000), s, 10'000 * kMs).kind == ScaleDecision::none);
    CHECK(decide_scaling(pool(), load(2, 4, 5000), s, 10'500 * kMs).kind == ScaleDecision::up);
  }

  TEST_CASE("shrinks after busy slots fit in one process fewer for scale_down_after_ms, never below min") {
    PoolScaleState s;
    CHECK(decide_scaling(pool(), load(3, 4, 0), s, 10'000 * kMs).kind == ScaleDecision::none);  // starts the clock
    CHECK(s.fit_since_us == 10'000 * kMs);
    CHECK(decide_scaling(pool(), load(3, 4, 0), s, 11'999 * kMs).kind == ScaleDecision::none);
    auto d = decide_scaling(pool(), load(3, 4, 0), s, 12'000 * kMs);
    CHECK(d.kind == ScaleDecision::down);
    CHECK(d.reason.find("they fit in one process fewer for 2000 ms") != std::string::npos);
    // A busier moment restarts the clock.
    PoolScaleState t;
    decide_scaling(pool(), load(3, 4, 0), t, 10'000 * kMs);
    decide_scaling(pool(), load(3, 5, 0), t, 11'000 * kMs);
    CHECK(t.fit_since_us == 0);
    CHECK(decide_scaling(pool(), load(3, 4, 0), t, 12'500 * kMs).kind == ScaleDecision::none);
    // At min: no further.
    PoolScaleState m;
    decide_scaling(pool(1, 3), load(1, 0, 0), m, 10'000 * kMs);
    CHECK(decide_scaling(pool(1, 3), load(1, 0, 0), m, 20'000 * kMs).kind == ScaleDecision::none);
    // One drain at a time.
    PoolScaleState n;
    decide_scaling(pool(), load(3, 0, 0, 0, /*draining=*/1), n, 10'000 * kMs);
    CHECK(decide_scaling(pool(), load(3, 0, 0, 0, 1), n, 20'000 * kMs).kind == ScaleDecision::none);
  }

  TEST_CASE("a drain racing a burst is cancelled, even inside the cool-down") {
    PoolScaleState s;
    s.last_change_us = 9'900 * kMs;  // the scale-down just happened
    auto d = decide_scaling(pool(), load(3, 4, 800, 0, /*draining=*/1), s, 10'000 * kMs);
    CHECK(d.kind == ScaleDecision::keep);
    CHECK(d.reason.rfind("scale-down cancelled: ", 0) == 0);
    CHECK(s.last_change_us == 10'000 * kMs);
  }

  TEST_CASE("pressure orders pools by their wait over their own threshold") {
    PoolConfig fast = pool(), slow = pool();
    fast.scale_up_after_ms = 100;
    slow.scale_up_after_ms = 1000;
    CHECK(scale_up_pressure(fast, load(1, 2, 300)) > scale_up_pressure(slow, load(1, 2, 900)));
  }
}
