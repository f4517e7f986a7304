// IdleCpuMonitor: notices a worker that burns CPU while it runs no task,
// which means a thread that task code left behind is looping (issue 11,
// point 3). Such a worker still answers heartbeats and tasks, but every
// task it runs shares a core (and, in Python, the GIL) with that thread, so
// it is recycled: it drains like a stopping worker and exits with
// kIdleCpuExit, and its supervisor starts a fresh process.
//
// Contract: the I/O thread calls sample() once per heartbeat with the time,
// the process's CPU time (process_cpu_us()) and whether it had any task
// since the last sample (held, queued, running or answered). A sample with
// a task restarts the window: task CPU never counts. Once `window_us` has
// passed with no task, the CPU used over it, as a percentage of one core,
// is compared with `limit_percent`: sample() returns true when it is over
// (the worker should be recycled), else a new window starts.
// limit_percent 0 turns the check off.
//
// Pure arithmetic on the values passed in (process_cpu_us() aside), so the
// unit test feeds it numbers, not clocks.
//
// Thread safety: a plain value, used by the I/O thread only.
#pragma once

#include <cstdint>

namespace zfleet::worker {

// Exit code of a worker recycled because it burned CPU with no task.
inline constexpr int kIdleCpuExit = 76;

class IdleCpuMonitor {
 public:
  IdleCpuMonitor(uint32_t limit_percent, uint64_t window_us)
      : limit_percent_(limit_percent), window_us_(window_us) {}

  bool sample(uint64_t now_us, uint64_t cpu_us, bool had_task);

  // The share of one core used over the last full idle window, in percent.
  uint64_t last_percent() const { return last_percent_; }
  uint64_t window_us() const { return window_us_; }

 private:
  uint32_t limit_percent_;
  uint64_t window_us_;
  bool started_ = false;  // a window is open since start_us_
  uint64_t start_us_ = 0, start_cpu_us_ = 0;
  uint64_t last_percent_ = 0;
};

// User + system CPU time of the whole process (every thread), in us.
uint64_t process_cpu_us();

}  // namespace zfleet::worker
