#include "worker/running_tasks.h"

#include <algorithm>

#include "common/clock.h"

namespace zfleet::worker {

RunningTasks::RunningTasks(int slots)
    : count_(slots), slots_(std::make_unique<Slot[]>(static_cast<std::size_t>(slots))) {}

void RunningTasks::prune_unmatched(uint64_t now_us) {
  while (!unmatched_.empty() && (unmatched_.size() > kMaxUnmatched ||
                                 unmatched_.front().at_us + kUnmatchedTtlUs < now_us)) {
    unmatched_.pop_front();
  }
}

CancelFlag& RunningTasks::begin(std::size_t slot, uint64_t dispatch, uint64_t deadline_us) {
  std::lock_guard lock(mu_);
  Slot& s = slots_[slot];
  s.busy = true;
  s.dispatch = dispatch;
  s.deadline_us = deadline_us;
  s.cancelled_us = 0;
  s.flag.reset();
  // Cancelled while between the TaskQueue and here (see the header). Empty
  // nearly always, so the clock is read only when it matters.
  if (!unmatched_.empty()) {
    const uint64_t now = common::now_us();
    prune_unmatched(now);
    auto it = std::find_if(unmatched_.begin(), unmatched_.end(),
                           [&](const Unmatched& u) { return u.dispatch == dispatch; });
    if (it != unmatched_.end()) {
      unmatched_.erase(it);
      s.cancelled_us = std::max<uint64_t>(now, 1);
      s.flag.request();  // no listener yet: it just sets the flag
    }
  }
  return s.flag;
}

void RunningTasks::end(std::size_t slot) {
  std::lock_guard lock(mu_);
  Slot& s = slots_[slot];
  s.busy = false;
  s.deadline_us = 0;
  s.cancelled_us = 0;
}

bool RunningTasks::cancel(uint64_t dispatch, uint64_t now_us) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < count_; ++i) {
    Slot& s = slots_[static_cast<std::size_t>(i)];
    if (!s.busy || s.dispatch != dispatch) continue;
    if (s.cancelled_us == 0) s.cancelled_us = std::max<uint64_t>(now_us, 1);
    s.flag.request();
    return true;
  }
  unmatched_.push_back({dispatch, now_us});
  prune_unmatched(now_us);
  return false;
}

bool RunningTasks::has_stuck(uint64_t now_us, uint64_t grace_us) const {
  std::lock_guard lock(mu_);
  for (int i = 0; i < count_; ++i) {
    const Slot& s = slots_[static_cast<std::size_t>(i)];
    if (!s.busy) continue;
    if (s.deadline_us != 0 && now_us > s.deadline_us + grace_us) return true;
    if (s.cancelled_us != 0 && now_us > s.cancelled_us + grace_us) return true;
  }
  return false;
}

}  // namespace zfleet::worker
