// Unit tests of broker/restart_policy: when a local worker slot restarts and
// when it is crash-looping. Regression tests of defect 9: after a burst of
// kill -9 on healthy workers every slot sat in crash-loop backoff with no
// worker running for 34 s, and crash_looping stayed true once they were
// healthy again.
#include "broker/restart_policy.h"

#include <doctest/doctest.h>

#include <cstdint>

using zfleet::broker::RestartPolicy;

namespace {

constexpr uint64_t kMs = 1000;
constexpr uint64_t kWindow = RestartPolicy::kStartupWindowUs;

// Starts a process at `t` that dies `after` us later; returns the delay the
// policy asks for and moves `t` to the next start.
uint64_t run_and_die(RestartPolicy& p, uint64_t& t, uint64_t after) {
  p.started(t);
  t += after;
  const uint64_t delay = p.exited(t);
  t += delay;
  return delay;
}

}  // namespace

TEST_SUITE("restart_policy") {
  TEST_CASE("a process killed after its start-up window is restarted at once, every time") {
    RestartPolicy p;
    uint64_t t = 1'000'000;
    for (int round = 0; round < 20; ++round) {
      CHECK(run_and_die(p, t, kWindow + 50 * kMs) == 0);
      CHECK(p.streak() == 0);
      CHECK_FALSE(p.crash_looping());
    }
  }

  TEST_CASE("start-up deaths back off exponentially, capped, and flag a crash loop at 5") {
    RestartPolicy p;
    uint64_t t = 0;
    const uint64_t expected[] = {200 * kMs, 400 * kMs, 800 * kMs, 1600 * kMs, 3200 * kMs};
    for (int i = 0; i < 5; ++i) {
      CHECK_FALSE(p.crash_looping());
      CHECK(run_and_die(p, t, 5 * kMs) == expected[i]);
      CHECK(p.streak() == i + 1);
    }
    CHECK(p.crash_looping());
    uint64_t delay = 0;
    for (int i = 0; i < 30; ++i) delay = run_and_die(p, t, 5 * kMs);
    CHECK(delay == RestartPolicy::kBackoffCapUs);
    CHECK(p.crash_looping());
  }

  TEST_CASE("a crash-looping slot is cleared once a process outlives the window, while it runs") {
    RestartPolicy p;
    uint64_t t = 0;
    for (int i = 0; i < 6; ++i) run_and_die(p, t, 10 * kMs);
    REQUIRE(p.crash_looping());
    p.started(t);
    CHECK_FALSE(p.running(t + kWindow - 1));   // still in its start-up window
    CHECK(p.crash_looping());
    CHECK(p.running(t + kWindow));             // just outlived it: changed
    CHECK_FALSE(p.crash_looping());
    CHECK(p.streak() == 0);
    CHECK_FALSE(p.running(t + kWindow + 100 * kMs));  // no change the second time
    // It then dies after serving: straight back, no backoff.
    CHECK(p.exited(t + 60'000 * kMs) == 0);
    CHECK_FALSE(p.crash_looping());
  }

  TEST_CASE("a healthy death resets the start-up streak") {
    RestartPolicy p;
    uint64_t t = 0;
    run_and_die(p, t, 10 * kMs);
    run_and_die(p, t, 10 * kMs);
    REQUIRE(p.streak() == 2);
    CHECK(run_and_die(p, t, kWindow) == 0);  // exactly the window: up
    CHECK(p.streak() == 0);
    CHECK(run_and_die(p, t, 10 * kMs) == 200 * kMs);  // the backoff starts over
  }

  TEST_CASE("the defect-9 burst: healthy workers killed repeatedly are never held back") {
    // Five rounds of kill -9 on a pool's workers, each after they were up
    // for 3 s (past the window): each slot restarts at once every round.
    RestartPolicy slots[4];
    uint64_t t = 0;
    for (auto& s : slots) s.started(t);
    for (int round = 0; round < 5; ++round) {
      t += 3000 * kMs;
      for (auto& s : slots) {
        s.running(t);
        CHECK(s.exited(t) == 0);
        s.started(t);
        CHECK_FALSE(s.crash_looping());
      }
    }
  }

  TEST_CASE("a process that cannot be spawned counts as a start-up death") {
    RestartPolicy p;
    CHECK(p.spawn_failed() == 200 * kMs);
    CHECK(p.spawn_failed() == 400 * kMs);
    CHECK(p.streak() == 2);
    p.started(0);
    CHECK_FALSE(p.running(kWindow - 1));
    CHECK_FALSE(p.running(kWindow));  // was not crash-looping: no visible change
    CHECK(p.streak() == 0);
  }
}
