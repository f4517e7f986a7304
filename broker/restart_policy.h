// RestartPolicy: when the supervisor restarts one local worker slot after its
// process exits, and whether that slot is crash-looping. Pure bookkeeping on
// times the caller passes in (no clock, no processes), so it is unit-tested
// on its own.
//
// Contract:
// - A process that outlives its start-up window (kStartupWindowUs, counted
//   from its spawn) counts as up and serving: when it dies it is restarted
//   at once, however it died and however often it died before. The
//   supervisor only sees pids, not the broker's registry, so "served" is
//   measured by time; a worker registers with the broker well within the
//   window (an embedded interpreter and two connects).
// - A process that dies within its start-up window (or cannot be spawned)
//   is a start-up death. Consecutive start-up deaths back off
//   exponentially: base << streak (200 ms, 400 ms, ...) capped at kBackoffCapUs.
// - crash_looping() is true after kCrashLoopStreak consecutive start-up
//   deaths, and false again as soon as a process of the slot outlives its
//   start-up window (observed by running()), without waiting for it to die.
//
// Why (defect 9): the window used to be 10 s and the streak reset only when a
// process that had run 10 s died. A burst of kill -9 on healthy workers put
// every slot of a pool in backoff at once, with no worker running for 34 s
// while tasks waited, and crash_looping stayed true on healthy workers.
//
// Thread safety: a plain value; one per slot, used by the supervisor's thread.
#pragma once

#include <cstdint>

namespace zfleet::broker {

class RestartPolicy {
 public:
  static constexpr uint64_t kStartupWindowUs = 2'000'000;
  static constexpr uint64_t kBackoffBaseUs = 100'000;
  static constexpr uint64_t kBackoffCapUs = 30'000'000;
  static constexpr int kCrashLoopStreak = 5;

  // A process of this slot was spawned at now_us.
  void started(uint64_t now_us);
  // The slot's process still runs at now_us. Returns true when this changes
  // crash_looping() (the process just outlived its start-up window after a
  // crash loop), so the caller knows to publish.
  bool running(uint64_t now_us);
  // The slot's process exited at now_us, or could not be spawned
  // (spawn_failed). Returns the delay before the next start, in us.
  uint64_t exited(uint64_t now_us);
  uint64_t spawn_failed();
  // The process exited because it was told to be recycled (it served its
  // max_tasks_per_process or passed max_rss_mb): not a death at all, so the
  // streak ends and the slot restarts at once. Returns 0 (the delay).
  uint64_t recycled();

  bool crash_looping() const { return streak_ >= kCrashLoopStreak; }
  // When running() next has something to say: the end of the current
  // process's start-up window (UINT64_MAX once it is up).
  uint64_t up_at_us() const { return up_ ? UINT64_MAX : started_us_ + kStartupWindowUs; }
  int streak() const { return streak_; }  // consecutive start-up deaths

 private:
  uint64_t startup_death();

  uint64_t started_us_ = 0;
  bool up_ = false;  // the current process outlived its start-up window
  int streak_ = 0;
};

}  // namespace zfleet::broker
