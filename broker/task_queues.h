// TaskQueues: the per-pool FIFO queues of runnable tasks (phase queued).
//
// Cancelling a queued task must be O(1), so a cancelled task is not taken
// out of the middle of its deque: TaskLifecycle finishes it and leaves the
// pointer as a tombstone (phase no longer queued, Task::queue_ref set) that
// front_runnable() drops when it reaches the front, deleting the task if it
// is finished by then (maybe_delete; else its finisher does). Tombstones are counted, and a queue is compacted
// when they outnumber its live tasks, so a client that submits and cancels
// in a loop while no worker serves cannot grow memory without bound.
//
// Contract: push()/push_front() take queued tasks; pop_runnable() returns
// the next queued task of a pool (deleting tombstones it passes);
// runnable() counts queued tasks only. Owns the tombstones it deletes.
//
// Thread safety: dispatcher thread only; not synchronized.
#pragma once

#include <cstddef>
#include <deque>

#include "broker/task.h"

namespace zfleet::broker {

class TaskQueues {
 public:
  TaskQueues() = default;
  ~TaskQueues();
  TaskQueues(const TaskQueues&) = delete;
  TaskQueues& operator=(const TaskQueues&) = delete;

  void push(Task* t) {
    t->queue_ref = true;
    q(t->pool).push_back(t);
  }
  void push_front(Task* t) {
    t->queue_ref = true;
    q(t->pool).push_front(t);
  }
  // The next queued task of `type` without removing it, or nullptr.
  Task* front_runnable(common::PoolId pool);
  // Removes the task front_runnable() returned.
  void pop_front(common::PoolId pool);
  // A queued task of `type` was just finished in place (cancelled).
  void tombstoned(common::PoolId pool);
  std::size_t runnable(common::PoolId pool) const;
  // Every queued task, all pools (for a drain's count).
  std::size_t runnable() const;

 private:
  std::deque<Task*>& q(common::PoolId pool) { return queues_[pool]; }
  void compact(int type);
  static void drop(Task* t) {
    t->queue_ref = false;
    maybe_delete(t);
  }

  std::deque<Task*> queues_[common::kMaxPools];
  std::size_t tombstones_[common::kMaxPools] = {};
};

}  // namespace zfleet::broker
