// TimerHeap: every timed Task of the dispatcher (delayed, waiting for a
// retry, or running with a deadline) in one binary min-heap on Task::due_us.
// Intrusive: each Task keeps its own index (Task::timer_pos), so moving or
// cancelling a timer is O(log n) with no lookup, and a task costs one
// 16-byte heap slot, not a node: a million delayed tasks cost 16 MB here,
// no thread and no polling (the dispatcher sleeps until next_due_us()).
//
// Why not a timer wheel: due times range from milliseconds (deadlines of
// short tasks) to days (delay_ms), and a heap needs no tick or level
// cascade for that range; its O(log n) is ~20 comparisons for 10^6 timers.
//
// Contract: a Task is in the heap at most once; schedule() on a task that is
// in it moves it. A Task must be cancel()ed (or popped) before it is deleted.
//
// Thread safety: dispatcher thread only; not synchronized.
#pragma once

#include <cstdint>
#include <vector>

#include "broker/task.h"

namespace zfleet::broker {

class TimerHeap {
 public:
  // Sets t->due_us = due_us and (re)places the task in the heap.
  void schedule(Task* t, uint64_t due_us);
  // Removes t if it is in the heap; no-op otherwise.
  void cancel(Task* t);
  // Removes and returns the earliest task due at or before now_us, or nullptr.
  Task* pop_due(uint64_t now_us);
  // Due time of the earliest timer, or UINT64_MAX when there is none.
  uint64_t next_due_us() const;
  std::size_t size() const { return heap_.size(); }

 private:
  struct Slot {
    uint64_t due;
    Task* task;
  };
  void place(std::size_t i, Slot s);  // writes s at i and updates its task's index
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void remove_at(std::size_t i);

  std::vector<Slot> heap_;
};

}  // namespace zfleet::broker
