// RunningTasks: which task (by dispatch number) each pool thread is running,
// its deadline, and its CancelFlag. It answers the two questions the I/O
// thread asks about running work: "cancel dispatch d" and "is a task stuck
// (so the process must recycle)".
//
// Contract:
// - begin(slot, d, deadline) is called by pool thread `slot` before it runs
//   the task with dispatch d; it returns that slot's CancelFlag, re-armed.
//   end(slot) is called when the task is done.
// - cancel(d) raises the flag of the slot running d and marks the task
//   stuck-from-now: a task cancelled while blocked in C code is recycled
//   kill_grace_ms after the cancel, as a timed-out one is kill_grace_ms
//   after its deadline.
// - If no slot runs d, cancel(d) remembers d for kUnmatchedTtlUs (at most
//   kMaxUnmatched of them): a pool thread may have taken d off the TaskQueue
//   and not yet called begin(), and begin() then finds d cancelled at once.
//   A d that already finished is remembered for nothing and ages out; that
//   is the "already answered: ignore" case. The TTL keeps a dispatch number
//   reused by a restarted broker from meeting an old cancel.
// - has_stuck(now, grace) is true when a running task is more than `grace`
//   past its deadline or its cancel.
//
// Thread safety: internally synchronized (one mutex; begin/end are two
// uncontended lock pairs per task). begin()/end() from pool threads (each
// its own slot), cancel()/has_stuck() from the I/O thread. cancel() raises
// the flag while holding the mutex, so a slot cannot move on to its next
// task (begin() resets the flag) between the match and the raise. Lock
// order: this mutex, then a CancelFlag's, then the TimeoutWatchdog's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "worker/exec/cancel_flag.h"

namespace zfleet::worker {

class RunningTasks {
 public:
  static constexpr std::size_t kMaxUnmatched = 64;
  static constexpr uint64_t kUnmatchedTtlUs = 1'000'000;

  explicit RunningTasks(int slots);
  RunningTasks(const RunningTasks&) = delete;
  RunningTasks& operator=(const RunningTasks&) = delete;

  // `deadline_us` is steady-clock microseconds (common::now_us), 0 = none.
  CancelFlag& begin(std::size_t slot, uint64_t dispatch, uint64_t deadline_us);
  void end(std::size_t slot);

  // Returns true when a running task was found and its flag raised.
  bool cancel(uint64_t dispatch, uint64_t now_us);

  bool has_stuck(uint64_t now_us, uint64_t grace_us) const;

 private:
  struct Slot {
    bool busy = false;
    uint64_t dispatch = 0;
    uint64_t deadline_us = 0;   // 0 = none
    uint64_t cancelled_us = 0;  // when the cancel reached it; 0 = not cancelled
    CancelFlag flag;
  };
  struct Unmatched {
    uint64_t dispatch;
    uint64_t at_us;
  };

  void prune_unmatched(uint64_t now_us);  // mu_ held

  const int count_;
  mutable std::mutex mu_;
  std::unique_ptr<Slot[]> slots_;    // guarded by mu_ (each flag also synchronizes itself)
  std::deque<Unmatched> unmatched_;  // guarded by mu_; cancelled, not found running; oldest first
};

}  // namespace zfleet::worker
