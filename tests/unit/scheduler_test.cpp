// Unit tests of broker/scheduler: least-loaded routing (DESIGN decision 1)
// on real WorkerEntry objects and dispatch numbers: ratio order across capacities, the
// longest-unused tie-break, the capacity cap, liveness, type separation and
// balance under long dispatch/return runs, checked against a brute-force
// choice after every step.
#include "broker/scheduler.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using zfleet::broker::Scheduler;
using zfleet::broker::WorkerEntry;
using zfleet::common::PoolId;
using zfleet::common::kIoPool;
using zfleet::common::kCpuPool;

namespace {

std::string name(const char* prefix, std::size_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// Owns the workers and tasks of one test; hands out stable pointers.
struct Fleet {
  Scheduler sched;
  std::vector<std::unique_ptr<WorkerEntry>> workers;
  uint64_t last_d = 0;  // dispatch numbers handed out so far
  uint64_t clock_us = 1000;

  // `threads` 0 = as many as `capacity` (no prefetch slots).
  WorkerEntry* add(std::string id, uint32_t capacity, PoolId type = kIoPool,
                   uint32_t threads = 0) {
    auto w = std::make_unique<WorkerEntry>();
    w->info.id = std::move(id);
    w->pool = type;
    w->info.threads = threads ? threads : capacity;
    w->capacity = capacity;
    sched.refresh(w.get());
    workers.push_back(std::move(w));
    return workers.back().get();
  }
  uint64_t task() { return ++last_d; }
  // Picks and dispatches one task of `type`; returns the worker or nullptr.
  WorkerEntry* dispatch(PoolId type = kIoPool) {
    WorkerEntry* w = sched.pick(type);
    if (w) sched.dispatched(w, task(), ++clock_us);
    return w;
  }
  // The choice the index must make, by brute force over every worker.
  WorkerEntry* expected_pick(PoolId type) const {
    WorkerEntry* best = nullptr;
    for (const auto& up : workers) {
      WorkerEntry* w = up.get();
      if (w->pool != type || !w->alive || w->stopping || !w->has_free_slot()) continue;
      if (!best) {
        best = w;
        continue;
      }
      uint64_t lw = uint64_t{w->inflight()} * best->capacity;
      uint64_t lb = uint64_t{best->inflight()} * w->capacity;
      if (lw < lb || (lw == lb && (w->last_dispatch_us < best->last_dispatch_us ||
                                   (w->last_dispatch_us == best->last_dispatch_us &&
                                    w->info.id < best->info.id))))
        best = w;
    }
    return best;
  }
};

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("least loaded by in-flight/capacity ratio across different capacities") {
    Fleet f;
    WorkerEntry* big = f.add("big", 4);
    WorkerEntry* small = f.add("small", 2);
    // Both idle: equal ratio 0, never dispatched, so the id decides.
    CHECK(f.sched.pick(kIoPool) == big);
    CHECK(f.dispatch() == big);    // then big 1/4, small 0/2
    CHECK(f.dispatch() == small);  // then big 1/4 < small 1/2
    CHECK(f.dispatch() == big);    // then big 2/4 = small 1/2: small is the longer unused
    CHECK(f.dispatch() == small);  // then small 2/2 is full
    CHECK(f.dispatch() == big);
    CHECK(f.dispatch() == big);
    CHECK(big->inflight() == 4);
    CHECK(small->inflight() == 2);
    CHECK(f.sched.pick(kIoPool) == nullptr);
  }

  TEST_CASE("ties: longest unused first, then id") {
    Fleet f;
    WorkerEntry* c = f.add("c", 2);
    WorkerEntry* a = f.add("a", 2);
    WorkerEntry* b = f.add("b", 2);
    CHECK(f.sched.pick(kIoPool) == a);  // all unused: by id
    // Give each one task, then return them all: loads equal again, and the
    // order of last dispatch decides.
    uint64_t tb = f.task();
    uint64_t tc = f.task();
    uint64_t ta = f.task();
    f.sched.dispatched(b, tb, 10);
    f.sched.dispatched(c, tc, 20);
    f.sched.dispatched(a, ta, 30);
    f.sched.returned(a, ta);
    f.sched.returned(b, tb);
    f.sched.returned(c, tc);
    CHECK(f.sched.pick(kIoPool) == b);  // used at 10
    f.sched.dispatched(b, f.task(), 40);
    CHECK(f.sched.pick(kIoPool) == c);  // 0/2 at 20 beats 0/2 at 30
  }

  TEST_CASE("no worker ever exceeds its capacity; all full picks nothing; a return frees a slot") {
    Fleet f;
    for (uint32_t i = 0; i < 6; ++i) f.add(name("w", i), 1 + i);  // 21 slots
    std::map<WorkerEntry*, int> sent;
    for (int i = 0; i < 100; ++i) {
      WorkerEntry* w = f.dispatch();
      if (!w) break;
      ++sent[w];
      CHECK(w->inflight() <= w->capacity);
    }
    int total = 0;
    for (const auto& up : f.workers) {
      CHECK(up->inflight() == up->capacity);
      CHECK(sent[up.get()] == static_cast<int>(up->capacity));
      total += sent[up.get()];
    }
    CHECK(total == 21);
    CHECK(f.sched.pick(kIoPool) == nullptr);
    CHECK(f.sched.indexed(kIoPool) == 0);

    WorkerEntry* w3 = f.workers[3].get();
    uint64_t d = *w3->ledger.begin();
    REQUIRE(f.sched.returned(w3, d));
    CHECK_FALSE(w3->ledger.contains(d));
    CHECK(w3->inflight() == w3->capacity - 1);
    CHECK(f.sched.pick(kIoPool) == w3);
    CHECK(f.sched.indexed(kIoPool) == 1);
  }

  TEST_CASE("dead, stopping and removed workers are never picked") {
    Fleet f;
    WorkerEntry* a = f.add("a", 4);
    WorkerEntry* b = f.add("b", 4);
    WorkerEntry* c = f.add("c", 4);
    a->alive = false;
    f.sched.refresh(a);
    b->stopping = true;
    f.sched.refresh(b);
    for (int i = 0; i < 4; ++i) CHECK(f.dispatch() == c);
    CHECK(f.sched.pick(kIoPool) == nullptr);
    // A task returned by a stopping worker does not make it eligible again.
    f.sched.dispatched(b, f.task(), 1);  // in flight from before it said BYE
    CHECK(f.sched.returned(b, f.last_d));
    CHECK(f.sched.pick(kIoPool) == nullptr);
    // Back to life: eligible again.
    a->alive = true;
    f.sched.refresh(a);
    CHECK(f.sched.pick(kIoPool) == a);
    f.sched.remove(a);
    CHECK_FALSE(a->indexed);
    CHECK(f.sched.pick(kIoPool) == nullptr);
    f.sched.remove(a);  // twice is harmless
    CHECK(f.sched.indexed(kIoPool) == 0);
  }

  TEST_CASE("a capacity change (remove, change, refresh) keeps the index right") {
    Fleet f;
    WorkerEntry* a = f.add("a", 6);
    WorkerEntry* b = f.add("b", 2);
    for (int i = 0; i < 4; ++i) f.sched.dispatched(a, f.task(), ++f.clock_us);
    CHECK(f.sched.pick(kIoPool) == b);  // a 4/6 > b 0/2
    // Prefetch revoked: a shrinks below what it has in flight.
    f.sched.remove(a);
    a->capacity = 2;
    f.sched.refresh(a);
    CHECK_FALSE(a->indexed);
    CHECK(f.dispatch() == b);
    CHECK(f.dispatch() == b);
    CHECK(f.sched.pick(kIoPool) == nullptr);
    for (int i = 0; i < 3; ++i) REQUIRE(f.sched.returned(a, *a->ledger.begin()));
    CHECK(a->inflight() == 1);
    CHECK(f.sched.pick(kIoPool) == a);  // 1/2 with b full
    // Grown again while indexed, the way update_capacity does it.
    f.sched.remove(a);
    a->capacity = 10;
    f.sched.refresh(a);
    CHECK(f.sched.indexed(kIoPool) == 1);
    for (int i = 0; i < 9; ++i) CHECK(f.dispatch() == a);
    CHECK(f.sched.pick(kIoPool) == nullptr);
    CHECK(a->inflight() == 10);
  }

  TEST_CASE("types are separated: an io worker is never picked for cpu") {
    Fleet f;
    WorkerEntry* io = f.add("io-0", 8, kIoPool);
    CHECK(f.sched.pick(kCpuPool) == nullptr);
    WorkerEntry* cpu = f.add("cpu-0", 1, kCpuPool);
    CHECK(f.dispatch(kCpuPool) == cpu);
    CHECK(f.sched.pick(kCpuPool) == nullptr);  // cpu full, io idle
    CHECK(f.sched.pick(kIoPool) == io);
    CHECK(f.sched.indexed(kIoPool) == 1);
    CHECK(f.sched.indexed(kCpuPool) == 0);
  }

  TEST_CASE("returned() of a dispatch the worker does not hold is false and changes nothing") {
    Fleet f;
    WorkerEntry* a = f.add("a", 2);
    WorkerEntry* b = f.add("b", 2);
    f.dispatch();
    WorkerEntry* before = f.sched.pick(kIoPool);
    uint64_t last = a->last_dispatch_us;
    CHECK_FALSE(f.sched.returned(a, 999));
    CHECK_FALSE(f.sched.returned(b, 1));  // in flight on a, not b
    CHECK(a->inflight() == 1);
    CHECK(b->inflight() == 0);
    CHECK(a->last_dispatch_us == last);
    CHECK(f.sched.pick(kIoPool) == before);
    CHECK(f.sched.indexed(kIoPool) == 2);
  }

  TEST_CASE("prefetch slots are refilled in bursts") {
    // 2 threads + 8 prefetch: once full, the worker takes no task until half
    // of its prefetch has come back (6 in flight), then is filled to 10.
    Fleet f;
    WorkerEntry* w = f.add("w", 10, kIoPool, 2);
    for (int i = 0; i < 10; ++i) REQUIRE(f.dispatch() == w);
    CHECK(f.dispatch() == nullptr);
    auto return_one = [&] {
      REQUIRE(f.sched.returned(w, *w->ledger.begin()));
    };
    for (int i = 0; i < 3; ++i) {
      return_one();
      CHECK(f.sched.pick(kIoPool) == nullptr);  // 9, 8, 7 in flight
    }
    return_one();  // 6 = threads + prefetch / 2
    CHECK(f.sched.pick(kIoPool) == w);
    for (int i = 0; i < 4; ++i) REQUIRE(f.dispatch() == w);
    CHECK(f.dispatch() == nullptr);
    // Under the mark it stays eligible all the way down.
    for (int i = 0; i < 4; ++i) return_one();
    while (w->inflight() > 1) {
      return_one();
      CHECK(f.sched.pick(kIoPool) == w);
    }
  }

  TEST_CASE("balance: dispatch/return cycles spread evenly over equal workers") {
    constexpr int kWorkers = 8;
    SUBCASE("one at a time: strict rotation") {
      Fleet f;
      for (int i = 0; i < kWorkers; ++i) f.add(name("w", i), 4);
      std::map<WorkerEntry*, int> sent;
      for (int i = 0; i < 800; ++i) {
        WorkerEntry* w = f.dispatch();
        REQUIRE(w != nullptr);
        ++sent[w];
        REQUIRE(f.sched.returned(w, f.last_d));
      }
      for (const auto& up : f.workers) CHECK(sent[up.get()] == 100);
    }
    SUBCASE("random returns under load: within 10% of the mean, index always right") {
      Fleet f;
      for (int i = 0; i < kWorkers; ++i) f.add(name("w", i), 4);
      std::mt19937 rng(42);
      std::map<WorkerEntry*, int> sent;
      std::vector<std::pair<WorkerEntry*, uint64_t>> inflight;
      bool index_right = true, within_capacity = true;
      constexpr int kSteps = 100000;
      for (int i = 0; i < kSteps; ++i) {
        // Keep the fleet 50-90% busy: dispatch when below, return when above.
        bool give = inflight.size() < 16 || (inflight.size() < 29 && rng() % 2);
        if (give) {
          WorkerEntry* want = f.expected_pick(kIoPool);
          WorkerEntry* w = f.dispatch();
          index_right = index_right && w == want && w != nullptr;
          if (!w) continue;
          ++sent[w];
          within_capacity = within_capacity && w->inflight() <= w->capacity;
          inflight.emplace_back(w, f.last_d);
        } else {
          std::size_t k = rng() % inflight.size();
          auto [w, d] = inflight[k];
          inflight[k] = inflight.back();
          inflight.pop_back();
          index_right = index_right && f.sched.returned(w, d);
        }
      }
      CHECK(index_right);
      CHECK(within_capacity);
      double total = 0;
      for (const auto& [w, n] : sent) total += n;
      double mean = total / kWorkers;
      CHECK(sent.size() == kWorkers);
      for (const auto& [w, n] : sent) {
        CAPTURE(w->info.id);
        CHECK(n >= 0.9 * mean);
        CHECK(n <= 1.1 * mean);
      }
    }
  }
}
