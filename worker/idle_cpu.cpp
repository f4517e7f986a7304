#include "worker/idle_cpu.h"

#include <sys/resource.h>

namespace zfleet::worker {

bool IdleCpuMonitor::sample(uint64_t now_us, uint64_t cpu_us, bool had_task) {
  if (limit_percent_ == 0) return false;
  if (had_task || !started_ || now_us < start_us_ || cpu_us < start_cpu_us_) {
    started_ = true;  // the window starts once the last task is over
    start_us_ = now_us;
    start_cpu_us_ = cpu_us;
    return false;
  }
  const uint64_t elapsed = now_us - start_us_;
  if (elapsed < window_us_ || elapsed == 0) return false;
  last_percent_ = (cpu_us - start_cpu_us_) * 100 / elapsed;
  start_us_ = now_us;
  start_cpu_us_ = cpu_us;
  return last_percent_ > limit_percent_;
}

uint64_t process_cpu_us() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto us = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000 + static_cast<uint64_t>(tv.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

}  // namespace zfleet::worker
