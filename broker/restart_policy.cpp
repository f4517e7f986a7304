#include "broker/restart_policy.h"

#include <algorithm>

namespace zfleet::broker {

void RestartPolicy::started(uint64_t now_us) {
  started_us_ = now_us;
  up_ = false;
}

bool RestartPolicy::running(uint64_t now_us) {
  if (up_ || now_us - started_us_ < kStartupWindowUs) return false;
  up_ = true;
  const bool was_looping = crash_looping();
  streak_ = 0;
  return was_looping;
}

uint64_t RestartPolicy::exited(uint64_t now_us) {
  // Checked here too, not only by running(): the supervisor may reap a
  // process that outlived its window before it ever polled it as running.
  if (up_ || now_us - started_us_ >= kStartupWindowUs) {
    up_ = false;
    streak_ = 0;
    return 0;
  }
  return startup_death();
}

uint64_t RestartPolicy::spawn_failed() { return startup_death(); }

uint64_t RestartPolicy::startup_death() {
  up_ = false;
  ++streak_;
  // The shift is bounded: 100 ms << 20 is already far past the cap.
  return std::min(kBackoffCapUs, kBackoffBaseUs << std::min(streak_, 20));
}

uint64_t RestartPolicy::recycled() {
  streak_ = 0;
  up_ = false;
  return 0;
}

}  // namespace zfleet::broker
