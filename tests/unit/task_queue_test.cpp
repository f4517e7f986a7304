// Unit tests of worker/task_queue: the I/O thread -> pool hand-off with its
// wake-up policy, on real threads. Nothing here measures time; waits are
// generous upper bounds on events that must happen.
#include "worker/task_queue.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using zfleet::worker::PendingTask;
using zfleet::worker::TaskQueue;
using namespace std::chrono_literals;

namespace {

std::vector<PendingTask> tasks(int n, uint64_t first_tag = 0) {
  std::vector<PendingTask> out(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)].received_us = first_tag + static_cast<uint64_t>(i);
  return out;
}

// Counts events and lets a test wait (bounded) for a number of them.
struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  void add() {
    std::lock_guard lock(mu);
    ++n;
    cv.notify_all();
  }
  bool wait_for(int want, std::chrono::seconds limit = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return n >= want; });
  }
};

}  // namespace

TEST_SUITE("task_queue") {
  TEST_CASE("every task is taken exactly once; close() drains, then ends pop()") {
    TaskQueue q(4);
    std::mutex mu;
    std::multiset<uint64_t> seen;
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) {
      pool.emplace_back([&] {
        uint64_t last = TaskQueue::kNoRun;
        while (auto task = q.pop(last)) {
          std::lock_guard lock(mu);
          seen.insert(task->received_us);
          last = 1;  // short tasks: the queue switches to one thread at a time
        }
      });
    }
    for (int round = 0; round < 100; ++round) {
      auto batch = tasks(50, static_cast<uint64_t>(round) * 50);
      q.push(batch);
      CHECK(batch.empty());
    }
    q.close();
    for (auto& t : pool) t.join();
    CHECK(seen.size() == 5000);
    CHECK(std::set<uint64_t>(seen.begin(), seen.end()).size() == 5000);
    CHECK(q.size() == 0);
  }

  TEST_CASE("tasks of unknown length each get a thread at once") {
    // Four tasks that only finish once all four run together: a queue that
    // woke fewer threads would leave them waiting (until the 10 s bound).
    TaskQueue q(4);
    Counter running;
    std::atomic<bool> release{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) {
      pool.emplace_back([&] {
        while (auto task = q.pop()) {
          running.add();
          while (!release) std::this_thread::sleep_for(1ms);
        }
      });
    }
    std::this_thread::sleep_for(50ms);  // let them all fall asleep in pop()
    auto batch = tasks(4);
    q.push(batch);
    CHECK(running.wait_for(4));
    release = true;
    q.close();
    for (auto& t : pool) t.join();
  }

  TEST_CASE("with short tasks, a thread stuck in a long one does not hold up the rest") {
    TaskQueue q(2);
    Counter done;
    std::atomic<bool> release{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; ++t) {
      pool.emplace_back([&] {
        uint64_t last = TaskQueue::kNoRun;
        while (auto task = q.pop(last)) {
          if (task->received_us == 999) {  // the long one
            while (!release) std::this_thread::sleep_for(1ms);
          }
          done.add();
          last = 2;  // reported as short
        }
      });
    }
    auto warm = tasks(20);
    q.push(warm);
    REQUIRE(done.wait_for(20));  // the average is short now
    std::vector<PendingTask> stuck(1);
    stuck[0].received_us = 999;
    q.push(stuck);
    std::this_thread::sleep_for(20ms);
    auto more = tasks(5, 1000);
    q.push(more);
    CHECK(done.wait_for(25));  // the other thread took all five
    release = true;
    CHECK(done.wait_for(26));
    q.close();
    for (auto& t : pool) t.join();
  }

  TEST_CASE("remove_first() takes one queued task back out; it is never popped") {
    TaskQueue q(1);
    auto batch = tasks(4, 10);  // tags 10..13 stand for dispatch numbers
    q.push(batch);
    auto removed = q.remove_first([](const PendingTask& p) { return p.received_us == 12; });
    REQUIRE(removed);
    CHECK(removed->received_us == 12);
    CHECK(q.size() == 3);
    CHECK_FALSE(q.remove_first([](const PendingTask& p) { return p.received_us == 12; }));
    CHECK_FALSE(q.remove_first([](const PendingTask& p) { return p.received_us == 99; }));
    q.close();
    std::vector<uint64_t> popped;
    while (auto t = q.pop()) popped.push_back(t->received_us);
    CHECK(popped == std::vector<uint64_t>{10, 11, 13});
  }

  TEST_CASE("a thread woken for a task removed meanwhile sleeps again and serves the next") {
    TaskQueue q(1);
    Counter got;
    std::atomic<uint64_t> tag{0};
    std::thread consumer([&] {
      while (auto t = q.pop()) {
        tag = t->received_us;
        got.add();
      }
    });
    std::this_thread::sleep_for(20ms);  // asleep in pop()
    auto one = tasks(1, 7);
    q.push(one);
    q.remove_first([](const PendingTask&) { return true; });  // may or may not beat the pop
    auto two = tasks(1, 8);
    q.push(two);
    REQUIRE(got.wait_for(1));
    if (tag == 7) REQUIRE(got.wait_for(2));  // the pop won the race: 8 follows
    CHECK(tag == 8);
    q.close();
    consumer.join();
  }

  TEST_CASE("discard() drops every queued task") {
    TaskQueue q(2);
    auto batch = tasks(5);
    q.push(batch);
    CHECK(q.discard() == 5);
    CHECK(q.size() == 0);
    CHECK(q.discard() == 0);
    q.close();
    CHECK_FALSE(q.pop());
  }

  TEST_CASE("nudge() asks to look again only while a sleeping thread could take a waiting task") {
    {
      // One thread, awake between tasks: it takes what is queued itself.
      TaskQueue q(1);
      CHECK_FALSE(q.nudge(0));
      auto batch = tasks(2);
      q.push(batch);
      CHECK_FALSE(q.nudge(0));
      CHECK(q.pop());
      CHECK(q.pop(3));
      q.close();
    }
    // Three threads: this one runs a short task, two sleep and, once they
    // have a task, hold it until `release`.
    TaskQueue q(3);
    auto warm = tasks(1);
    q.push(warm);
    REQUIRE(q.pop());
    warm = tasks(1);
    q.push(warm);
    REQUIRE(q.pop(3));  // average 3 us: short tasks; this thread now runs one
    Counter taken;
    std::atomic<bool> release{false};
    auto consumer = [&] {
      uint64_t last = TaskQueue::kNoRun;
      while (auto t = q.pop(last)) {
        taken.add();
        while (!release.load()) std::this_thread::sleep_for(1ms);
        last = 3;
      }
    };
    std::thread a(consumer), b(consumer);
    for (int i = 0; i < 10'000 && q.sleeping() < 2; ++i) std::this_thread::sleep_for(1ms);
    REQUIRE(q.sleeping() == 2);
    auto two = tasks(2, 100);
    q.push(two);  // short tasks: one sleeper is woken; the other task waits
    CHECK(q.nudge(100));
    REQUIRE(taken.wait_for(1));
    CHECK(q.size() == 1);
    CHECK(q.nudge(100));  // not late yet: nobody woken, look again
    CHECK(q.nudge(101 + TaskQueue::kMaxLagUs + 1));  // late (it came at 101): wakes the second sleeper
    REQUIRE(taken.wait_for(2));
    CHECK_FALSE(q.nudge(1'000'000));  // nothing waits
    // Every thread runs a task: one more waits for the first to finish, and
    // there is nobody to wake, so the I/O thread need not look again.
    auto one = tasks(1, 200);
    q.push(one);
    CHECK(q.size() == 1);
    CHECK_FALSE(q.nudge(1'000'000));
    release = true;
    REQUIRE(taken.wait_for(3));
    q.close();
    a.join();
    b.join();
  }

  TEST_CASE("a pop limit hands out that many tasks; the rest stay for take_all()") {
    TaskQueue q(2);
    q.set_pop_limit(3);
    auto batch = tasks(5, 100);
    q.push(batch);
    std::vector<uint64_t> taken;
    for (int i = 0; i < 3; ++i) {
      auto t = q.pop(1);
      REQUIRE(t);
      taken.push_back(t->received_us);
    }
    CHECK(taken == std::vector<uint64_t>{100, 101, 102});
    CHECK(q.popped() == 3);
    CHECK_FALSE(q.nudge(1'000'000));  // nothing anyone may take: no wake-ups
    // A fourth pop() waits (nothing may be taken) until close(), then ends
    // without draining: the rest belongs to take_all().
    std::atomic<bool> ended{false};
    std::thread blocked([&] {
      CHECK_FALSE(q.pop(1));
      ended = true;
    });
    std::this_thread::sleep_for(20ms);
    CHECK_FALSE(ended.load());
    auto rest = q.take_all();
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].received_us == 103);
    CHECK(rest[1].received_us == 104);
    CHECK(q.size() == 0);
    q.close();
    blocked.join();
    CHECK(ended.load());
    CHECK(q.popped() == 3);
  }

  TEST_CASE("hold() stops pops at once; close() then ends them without draining") {
    TaskQueue q(1);
    auto first = tasks(1);
    q.push(first);
    REQUIRE(q.pop());
    q.hold();
    auto more = tasks(2, 50);
    q.push(more);
    CHECK(q.size() == 2);
    q.close();
    CHECK_FALSE(q.pop(1));
    CHECK(q.take_all().size() == 2);
    CHECK(q.popped() == 1);
  }
}
