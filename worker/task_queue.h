// TaskQueue: the named hand-off from a worker's I/O thread to its pool
// threads, with a wake-up policy.
//
// Why a policy: waking a sleeping thread costs a futex call and a context
// switch (several microseconds on a 2-core machine), which is more than a
// builtin or a Python no-op takes to run. Waking one pool thread per task
// made the worker spend most of its CPU switching threads. So the queue
// keeps a moving average of task run times and wakes only the threads the
// queued work needs:
//   - short tasks (average under kShortTaskUs): one awake thread drains the
//     queue; a push wakes a thread only when no thread is awake between
//     tasks;
//   - long or not yet measured tasks: every queued task gets its own thread
//     at once, as far as there are sleeping threads (IO-bound slots must
//     all be used);
//   - a backstop, nudge(), run by the I/O thread: a task that has waited
//     longer than kMaxLagUs while threads sleep wakes one (a short-task
//     worker whose awake thread met a long task).
//
// Contract: push() never blocks (the broker bounds how many tasks a worker
// holds: its capacity). pop() blocks until an item arrives or the queue is
// closed; after close(), pop() drains what is left, then returns nullopt.
// remove_first() takes a queued task back out (a cancel before it started);
// discard() drops everything still queued (a drain that ran out of time:
// nobody could send those results).
//
// Recycling (recycler.h): set_pop_limit(n) lets pop() hand out n tasks in
// all, and hold() none from now on. Past that, pop() leaves queued tasks
// where they are (take_all() gives them to the I/O thread, which returns
// them to the broker) and waits for close(), then returns nullopt without
// draining. popped() counts the tasks handed out so far.
//
// Thread safety: internally synchronized; push()/nudge()/remove_first()/
// discard() from the I/O thread, pop() from the pool threads, size() from
// anywhere.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "common/frames.h"

namespace zfleet::worker {

// A task as received: the frames stay alive until the task is done, since
// the decoded views point into them.
struct PendingTask {
  common::Message message;
  uint64_t received_us = 0;
};

class TaskQueue {
 public:
  static constexpr uint64_t kShortTaskUs = 50;
  static constexpr uint64_t kMaxLagUs = 1000;
  static constexpr uint64_t kNoRun = UINT64_MAX;

  explicit TaskQueue(int consumers) : consumers_(consumers) {}

  // Appends the tasks (moved out of) and wakes the threads they need.
  void push(std::vector<PendingTask>& tasks);
  // Blocks for the next task. `last_run_us` is how long the caller's
  // previous task ran (kNoRun for none): it feeds the run-time average.
  // `before_wait` (optional) runs, without the lock, when there is no task
  // to take, before the thread sleeps (a pool thread sends the results it
  // holds there).
  std::optional<PendingTask> pop(uint64_t last_run_us = kNoRun, const std::function<void()>& before_wait = {});
  // The backstop: wakes a thread if the oldest task has waited more than
  // kMaxLagUs and nobody is free to take it. Returns true while tasks wait
  // and a thread sleeps that could take them (the caller should nudge again
  // within about kMaxLagUs); false when every thread is running, as each
  // takes the next task itself when it finishes, so the caller need not
  // look again (a CPU-bound worker with prefetched tasks would otherwise
  // wake 1,000 times a second, taking the CPU its tasks run on).
  bool nudge(uint64_t now_us);
  // Removes and returns the first queued task `match` accepts (called under
  // the queue's lock: keep it short), or nullopt.
  std::optional<PendingTask> remove_first(const std::function<bool(const PendingTask&)>& match);
  // Drops every queued task; returns how many.
  std::size_t discard();
  // Removes and returns every queued task, oldest first.
  std::vector<PendingTask> take_all();
  void set_pop_limit(uint64_t max_pops);
  void hold();
  uint64_t popped() const { return popped_.load(std::memory_order_relaxed); }
  void close();
  std::size_t size() const;
  // Threads waiting inside pop() now (tests wait on it instead of sleeping).
  int sleeping() const;
  // True when short tasks are queued: a pool thread will be back for the
  // next one within microseconds (it may hold its result to send a group).
  bool short_backlog() const;

 private:
  bool short_tasks() const { return avg_run_us_ < kShortTaskUs; }
  // A task is there and pop() may hand it out.
  bool takeable() const { return !items_.empty() && pops_left_ > 0; }
  // Threads awake and not running a task: they will pop without a wake-up.
  int free_awake() const { return consumers_ - (sleepers_ - signaled_) - running_; }
  int wake_locked(int n);  // marks up to n sleepers as signaled; returns how many

  const int consumers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingTask> items_;  // all below guarded by mu_
  int sleepers_ = 0;   // threads inside pop() waiting
  int signaled_ = 0;   // of those, already notified
  int running_ = 0;    // threads running a task
  uint64_t avg_run_us_ = UINT64_MAX;  // moving average; unknown (max) counts as long
  bool closed_ = false;
  uint64_t pops_left_ = UINT64_MAX;  // set_pop_limit(), hold()
  std::atomic<uint64_t> popped_{0};  // written under mu_, read anywhere
};

}  // namespace zfleet::worker
