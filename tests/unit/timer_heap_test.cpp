// Unit tests of broker/timer_heap and broker/task_queues: the dispatcher's
// timer structure (checked against a std::multimap under random schedule,
// move, cancel and pop) and the per-pool queues with cancel tombstones.
#include "broker/task_queues.h"
#include "broker/timer_heap.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <random>
#include <set>

using zfleet::broker::kNoTimer;
using zfleet::broker::Phase;
using zfleet::broker::Task;
using zfleet::broker::TaskQueues;
using zfleet::broker::TimerHeap;
using zfleet::common::kCpuPool;
using zfleet::common::kIoPool;

TEST_SUITE("timer_heap") {
  TEST_CASE("pops in due order; moved and cancelled timers; indexes kept in the tasks") {
    TimerHeap heap;
    std::deque<Task> tasks(5000);
    std::multimap<uint64_t, Task*> model;
    std::map<Task*, uint64_t> due_of;
    std::mt19937_64 rng(11);
    auto forget = [&](Task* t) {
      auto range = model.equal_range(due_of[t]);
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second == t) {
          model.erase(it);
          break;
        }
      }
      due_of.erase(t);
    };
    uint64_t now = 0;
    bool order_right = true, index_right = true;
    for (int step = 0; step < 200'000; ++step) {
      Task* t = &tasks[rng() % tasks.size()];
      switch (rng() % 4) {
        case 0:
        case 1: {  // schedule or move
          if (due_of.contains(t)) forget(t);
          uint64_t due = now + rng() % 100'000;
          heap.schedule(t, due);
          model.emplace(due, t);
          due_of[t] = due;
          index_right = index_right && t->due_us == due && t->timer_pos != kNoTimer;
          break;
        }
        case 2:  // cancel (also of tasks not in it)
          heap.cancel(t);
          if (due_of.contains(t)) forget(t);
          index_right = index_right && t->timer_pos == kNoTimer;
          break;
        case 3: {  // time passes
          now += rng() % 2000;
          while (Task* p = heap.pop_due(now)) {
            order_right = order_right && !model.empty() && model.begin()->first == p->due_us &&
                          p->due_us <= now && p->timer_pos == kNoTimer;
            forget(p);
          }
          order_right = order_right && (model.empty() || model.begin()->first > now);
        }
      }
      if (heap.size() != model.size()) index_right = false;
    }
    CHECK(order_right);
    CHECK(index_right);
    CHECK(heap.next_due_us() == (model.empty() ? UINT64_MAX : model.begin()->first));
    while (heap.pop_due(UINT64_MAX)) {
    }
    CHECK(heap.size() == 0);
    CHECK(heap.next_due_us() == UINT64_MAX);
  }

  TEST_CASE("task queues: FIFO per pool, head requeue, tombstones skipped, deleted and compacted") {
    TaskQueues q;
    std::vector<Task*> io, cpu;
    for (int i = 0; i < 3000; ++i) {
      auto* t = new Task;
      t->pool = i % 3 == 0 ? kCpuPool : kIoPool;
      t->phase = Phase::queued;
      t->intake_ref = false;
      t->attempts = static_cast<uint16_t>(i);
      q.push(t);
      (t->pool == kIoPool ? io : cpu).push_back(t);
    }
    CHECK(q.runnable(kIoPool) == io.size());
    CHECK(q.runnable() == 3000);
    // Cancel every io task but the last 10: tombstones, compacted past 1024.
    for (std::size_t i = 0; i + 10 < io.size(); ++i) {
      io[i]->phase = Phase::finished;
      q.tombstoned(kIoPool);
    }
    CHECK(q.runnable(kIoPool) == 10);
    Task* front = q.front_runnable(kIoPool);
    CHECK(front == io[io.size() - 10]);
    q.pop_front(kIoPool);
    front->phase = Phase::queued;
    q.push_front(front);  // a requeue goes first
    CHECK(q.front_runnable(kIoPool) == front);
    CHECK(q.front_runnable(kCpuPool) == cpu.front());
    // The rest is deleted by the owner (here: the test).
    std::set<Task*> left;
    for (zfleet::common::PoolId type : {kIoPool, kCpuPool}) {
      while (Task* t = q.front_runnable(type)) {
        q.pop_front(type);
        left.insert(t);
      }
    }
    CHECK(left.size() == 10 + cpu.size());
    CHECK(q.runnable() == 0);
    for (Task* t : left) delete t;
  }
}
