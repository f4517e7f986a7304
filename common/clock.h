// Clocks used across zfleet. Monotonic time for deadlines and durations
// (never goes back when the wall clock is set), wall time only for display.
//
// Thread safety: pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace zfleet::common {

inline uint64_t now_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

inline uint64_t now_ms() { return now_us() / 1000; }

inline uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace zfleet::common
