#include "broker/task_queues.h"

#include <algorithm>

namespace zfleet::broker {

TaskQueues::~TaskQueues() {
  // Tasks still queued belong to the lifecycle (it deletes them when it
  // goes); tombstones are dropped here.
  for (auto& queue : queues_) {
    for (Task* t : queue) {
      if (t->phase != Phase::queued) drop(t);
    }
  }
}

Task* TaskQueues::front_runnable(common::PoolId pool) {
  auto& queue = q(pool);
  int i = pool;
  while (!queue.empty() && queue.front()->phase != Phase::queued) {
    Task* t = queue.front();
    queue.pop_front();
    --tombstones_[i];
    drop(t);
  }
  return queue.empty() ? nullptr : queue.front();
}

void TaskQueues::pop_front(common::PoolId pool) {
  q(pool).front()->queue_ref = false;
  q(pool).pop_front();
}

void TaskQueues::tombstoned(common::PoolId pool) {
  int i = pool;
  ++tombstones_[i];
  if (tombstones_[i] > 1024 && tombstones_[i] * 2 > queues_[i].size()) compact(i);
}

void TaskQueues::compact(int type) {
  auto& queue = queues_[type];
  auto dead = std::stable_partition(queue.begin(), queue.end(),
                                    [](Task* t) { return t->phase == Phase::queued; });
  for (auto it = dead; it != queue.end(); ++it) drop(*it);
  queue.erase(dead, queue.end());
  tombstones_[type] = 0;
}

std::size_t TaskQueues::runnable(common::PoolId pool) const {
  int i = pool;
  return queues_[i].size() - tombstones_[i];
}

std::size_t TaskQueues::runnable() const {
  std::size_t n = 0;
  for (int i = 0; i < common::kMaxPools; ++i) n += queues_[i].size() - tombstones_[i];
  return n;
}

}  // namespace zfleet::broker
