#include "broker/timer_heap.h"

#include <limits>

namespace zfleet::broker {

void TimerHeap::place(std::size_t i, Slot s) {
  heap_[i] = s;
  s.task->timer_pos = static_cast<uint32_t>(i);
}

void TimerHeap::sift_up(std::size_t i) {
  Slot s = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (heap_[parent].due <= s.due) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, s);
}

void TimerHeap::sift_down(std::size_t i) {
  Slot s = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].due < heap_[child].due) ++child;
    if (s.due <= heap_[child].due) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, s);
}

void TimerHeap::remove_at(std::size_t i) {
  heap_[i].task->timer_pos = kNoTimer;
  Slot last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  place(i, last);
  // The moved slot may belong above or below its new place.
  if (i > 0 && heap_[(i - 1) / 2].due > last.due) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerHeap::schedule(Task* t, uint64_t due_us) {
  t->due_us = due_us;
  if (t->timer_pos != kNoTimer) {
    std::size_t i = t->timer_pos;
    heap_[i].due = due_us;
    sift_up(i);
    sift_down(t->timer_pos);
    return;
  }
  heap_.push_back({due_us, t});
  sift_up(heap_.size() - 1);
}

void TimerHeap::cancel(Task* t) {
  if (t->timer_pos == kNoTimer) return;
  remove_at(t->timer_pos);
}

Task* TimerHeap::pop_due(uint64_t now_us) {
  if (heap_.empty() || heap_.front().due > now_us) return nullptr;
  Task* t = heap_.front().task;
  remove_at(0);
  return t;
}

uint64_t TimerHeap::next_due_us() const {
  return heap_.empty() ? std::numeric_limits<uint64_t>::max() : heap_.front().due;
}

}  // namespace zfleet::broker
