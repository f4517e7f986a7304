// Unit tests of worker/idle_cpu: when a worker that runs no task counts as
// burning CPU (a thread left by a task, issue 11 point 3). The monitor is
// fed made-up times and CPU totals, never a clock.
#include "worker/idle_cpu.h"

#include <doctest/doctest.h>

#include <cstdint>

using zfleet::worker::IdleCpuMonitor;

namespace {

constexpr uint64_t kMs = 1000;
constexpr uint64_t kHeartbeat = 100 * kMs;

// Feeds samples every heartbeat from `t` for `span`, the process using
// `percent` of a core and no task; returns true as soon as one says recycle.
bool idle_for(IdleCpuMonitor& m, uint64_t& t, uint64_t& cpu, uint64_t span, uint64_t percent) {
  for (uint64_t end = t + span; t < end;) {
    t += kHeartbeat;
    cpu += kHeartbeat * percent / 100;
    if (m.sample(t, cpu, false)) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("idle_cpu") {
  TEST_CASE("a quiet idle worker is never recycled") {
    IdleCpuMonitor m(50, 2000 * kMs);
    uint64_t t = 5'000'000, cpu = 123'456;
    m.sample(t, cpu, false);
    CHECK_FALSE(idle_for(m, t, cpu, 60'000 * kMs, 2));
    CHECK(m.last_percent() == 2);
  }

  TEST_CASE("a busy idle worker is recycled once a whole window has passed") {
    IdleCpuMonitor m(50, 2000 * kMs);
    uint64_t t = 5'000'000, cpu = 0;
    m.sample(t, cpu, false);
    const uint64_t start = t;
    CHECK(idle_for(m, t, cpu, 10'000 * kMs, 100));
    CHECK(t - start == 2000 * kMs);  // not before the window is full
    CHECK(m.last_percent() == 100);
  }

  TEST_CASE("CPU used while tasks run never counts") {
    IdleCpuMonitor m(50, 2000 * kMs);
    uint64_t t = 0, cpu = 0;
    // A long CPU-bound task: every sample has a task.
    for (int i = 0; i < 600; ++i) {
      t += kHeartbeat;
      cpu += kHeartbeat;
      CHECK_FALSE(m.sample(t, cpu, true));
    }
    // Then quiet: the task's CPU is before the window.
    CHECK_FALSE(idle_for(m, t, cpu, 10'000 * kMs, 1));
  }

  TEST_CASE("a task restarts the window") {
    IdleCpuMonitor m(50, 2000 * kMs);
    uint64_t t = 0, cpu = 0;
    m.sample(t, cpu, false);
    CHECK_FALSE(idle_for(m, t, cpu, 1500 * kMs, 100));
    t += kHeartbeat;
    cpu += kHeartbeat;
    CHECK_FALSE(m.sample(t, cpu, true));  // a short task ran in this heartbeat
    const uint64_t restart = t;
    CHECK(idle_for(m, t, cpu, 10'000 * kMs, 100));
    CHECK(t - restart == 2000 * kMs);
  }

  TEST_CASE("the limit is a share of one core, over the limit only") {
    IdleCpuMonitor m(50, 2000 * kMs);
    uint64_t t = 0, cpu = 0;
    m.sample(t, cpu, false);
    CHECK_FALSE(idle_for(m, t, cpu, 20'000 * kMs, 50));
    CHECK(m.last_percent() == 50);
    CHECK(idle_for(m, t, cpu, 20'000 * kMs, 180));  // two threads on two cores
    CHECK(m.last_percent() == 180);
  }

  TEST_CASE("limit 0 turns the check off") {
    IdleCpuMonitor m(0, 2000 * kMs);
    uint64_t t = 0, cpu = 0;
    m.sample(t, cpu, false);
    CHECK_FALSE(idle_for(m, t, cpu, 20'000 * kMs, 100));
  }

  TEST_CASE("process_cpu_us counts this process's CPU") {
    const uint64_t before = zfleet::worker::process_cpu_us();
    volatile uint64_t x = 0;
    while (zfleet::worker::process_cpu_us() == before) x = x + 1;
    CHECK(zfleet::worker::process_cpu_us() > before);
  }
}
