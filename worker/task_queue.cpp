#include "worker/task_queue.h"

#include <algorithm>

namespace zfleet::worker {

int TaskQueue::wake_locked(int n) {
  n = std::min(n, sleepers_ - signaled_);
  if (n <= 0) return 0;
  signaled_ += n;
  return n;
}

void TaskQueue::push(std::vector<PendingTask>& tasks) {
  if (tasks.empty()) return;
  int wake;
  {
    std::lock_guard lock(mu_);
    for (auto& t : tasks) items_.push_back(std::move(t));
    // Held (recycling): nobody may take them; the I/O thread gives them back.
    int uncovered = pops_left_ > 0 ? static_cast<int>(items_.size()) - free_awake() : 0;
    // Short tasks: one awake thread is enough. Long ones: a thread each.
    wake = wake_locked(short_tasks() ? std::min(uncovered, 1) : uncovered);
  }
  tasks.clear();
  for (int i = 0; i < wake; ++i) cv_.notify_one();
}

std::optional<PendingTask> TaskQueue::pop(uint64_t last_run_us, const std::function<void()>& before_wait) {
  std::unique_lock lock(mu_);
  if (last_run_us != kNoRun) {
    --running_;
    // A moving average over about 8 tasks; the first sample replaces "unknown".
    avg_run_us_ = avg_run_us_ == UINT64_MAX
                      ? last_run_us
                      : avg_run_us_ - avg_run_us_ / 8 + last_run_us / 8;
  }
  if (!takeable() && !closed_ && before_wait) {
    // Still counted as awake and free: a push meanwhile leaves the task for
    // this thread, which looks again below.
    lock.unlock();
    before_wait();
    lock.lock();
  }
  if (!takeable() && !closed_) {
    ++sleepers_;
    while (!takeable() && !closed_) {
      cv_.wait(lock);
      // Woken (or spuriously): no longer a signaled sleeper. If another
      // thread took the task first, this one sleeps again as a plain sleeper.
      if (signaled_ > 0) --signaled_;
    }
    --sleepers_;
  }
  if (!takeable()) return std::nullopt;
  PendingTask task = std::move(items_.front());
  items_.pop_front();
  ++running_;
  if (pops_left_ != UINT64_MAX) --pops_left_;
  popped_.fetch_add(1, std::memory_order_relaxed);
  // Long tasks left behind get threads of their own (push may have woken
  // fewer threads than there are tasks, e.g. while the average was short).
  int wake = takeable() && !short_tasks() ? wake_locked(static_cast<int>(items_.size()) - free_awake()) : 0;
  lock.unlock();
  for (int i = 0; i < wake; ++i) cv_.notify_one();
  return task;
}

bool TaskQueue::nudge(uint64_t now_us) {
  int wake = 0;
  {
    std::lock_guard lock(mu_);
    if (!takeable() || sleepers_ == signaled_) return false;  // nobody left to wake
    if (free_awake() <= 0 && now_us > items_.front().received_us + kMaxLagUs) wake = wake_locked(1);
  }
  if (wake) cv_.notify_one();
  return true;
}

std::optional<PendingTask> TaskQueue::remove_first(
    const std::function<bool(const PendingTask&)>& match) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(items_.begin(), items_.end(), match);
  if (it == items_.end()) return std::nullopt;
  PendingTask task = std::move(*it);
  items_.erase(it);
  // A thread woken for it finds the queue emptier and sleeps again (pop()).
  return task;
}

std::size_t TaskQueue::discard() {
  std::lock_guard lock(mu_);
  std::size_t n = items_.size();
  items_.clear();
  return n;
}

std::vector<PendingTask> TaskQueue::take_all() {
  std::lock_guard lock(mu_);
  std::vector<PendingTask> out;
  out.reserve(items_.size());
  for (auto& t : items_) out.push_back(std::move(t));
  items_.clear();
  return out;
}

void TaskQueue::set_pop_limit(uint64_t max_pops) {
  std::lock_guard lock(mu_);
  pops_left_ = max_pops;
}

void TaskQueue::hold() {
  std::lock_guard lock(mu_);
  pops_left_ = 0;
}

void TaskQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool TaskQueue::short_backlog() const {
  std::lock_guard lock(mu_);
  return takeable() && short_tasks();
}

int TaskQueue::sleeping() const {
  std::lock_guard lock(mu_);
  return sleepers_;
}

std::size_t TaskQueue::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

}  // namespace zfleet::worker
