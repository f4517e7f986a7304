// Unit tests of broker/live_table: the index of queued and running tasks,
// its duplicate refusal, the watch/finish hand-shake result threads rely on,
// and concurrent use from several threads.
#include "broker/live_table.h"

#include <doctest/doctest.h>

#include <atomic>
#include <bit>
#include <deque>
#include <string>
#include <thread>
#include <vector>

using zfleet::broker::LiveTable;
using zfleet::broker::Task;
using zfleet::common::TaskState;

namespace {

Task make(std::string id) {
  Task t;
  t.id = std::move(id);
  return t;
}

std::string name(std::size_t n) {
  std::string s("task-");
  s += std::to_string(n);
  return s;
}

}  // namespace

TEST_SUITE("live_table") {
  TEST_CASE("insert, duplicate refused, state, set_state, erase, size") {
    LiveTable table(4);
    Task a = make("a"), a2 = make("a"), b = make("b");
    CHECK(table.size() == 0);
    CHECK(table.insert(&a));
    CHECK_FALSE(table.insert(&a2));  // another task with a live id
    CHECK_FALSE(table.insert(&a));
    CHECK(table.insert(&b));
    CHECK(table.size() == 2);
    CHECK(table.state("a") == TaskState::pending);
    table.set_state(&a, TaskState::running);
    CHECK(table.state("a") == TaskState::running);
    CHECK(table.state("b") == TaskState::pending);
    CHECK_FALSE(table.state("zzz").has_value());
    table.erase("a");
    CHECK_FALSE(table.state("a").has_value());
    CHECK(table.size() == 1);
    table.erase("a");  // absent: harmless
    CHECK(table.size() == 1);
    CHECK(table.insert(&a2));  // the id is free again
    CHECK(table.size() == 2);
  }

  TEST_CASE("watch registers waiter bits; finish returns them and removes the task") {
    LiveTable table;  // default shard count
    Task t = make("t1");
    REQUIRE(table.insert(&t));
    table.set_state(&t, TaskState::running);
    CHECK(table.watch("t1", 0) == TaskState::running);
    CHECK(table.watch("t1", 5) == TaskState::running);
    CHECK(table.watch("t1", 5) == TaskState::running);  // twice: one bit
    CHECK(table.watch("t1", 63) == TaskState::running);
    CHECK_FALSE(table.watch("missing", 1).has_value());
    uint64_t bits = table.finish(&t);
    CHECK(bits == ((uint64_t{1} << 0) | (uint64_t{1} << 5) | (uint64_t{1} << 63)));
    CHECK(t.waiters == 0);
    CHECK_FALSE(table.state("t1").has_value());
    CHECK_FALSE(table.watch("t1", 0).has_value());
    CHECK(table.size() == 0);
    Task u = make("u");
    REQUIRE(table.insert(&u));
    CHECK(table.finish(&u) == 0);  // nobody watched
  }

  TEST_CASE("shard counts that are not powers of two, or zero, work") {
    for (std::size_t shards : {0, 1, 3, 100}) {
      LiveTable table(shards);
      std::deque<Task> tasks;
      for (std::size_t i = 0; i < 200; ++i) {
        tasks.push_back(make(name(i)));
        CHECK(table.insert(&tasks.back()));
      }
      CHECK(table.size() == 200);
      for (auto& t : tasks) CHECK(table.state(t.id) == TaskState::pending);
    }
  }

  TEST_CASE("concurrent insert, watch and finish from 4 threads lose and duplicate nothing") {
    constexpr std::size_t kIds = 20000;
    constexpr unsigned kThreads = 4;
    LiveTable table(16);
    // Every thread holds its own Task for every id and races to insert it:
    // exactly one insert per id may win.
    std::vector<std::deque<Task>> tasks(kThreads);
    for (auto& per : tasks)
      for (std::size_t i = 0; i < kIds; ++i) per.push_back(make(name(i)));
    std::vector<std::atomic<int>> wins(kIds);
    std::vector<std::atomic<Task*>> winner(kIds);
    std::vector<std::thread> threads;
    for (unsigned k = 0; k < kThreads; ++k) {
      threads.emplace_back([&, k] {
        for (std::size_t n = 0; n < kIds; ++n) {
          std::size_t i = (n + k * kIds / kThreads) % kIds;  // each starts elsewhere
          if (table.insert(&tasks[k][i])) {
            wins[i].fetch_add(1);
            winner[i].store(&tasks[k][i]);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();
    bool one_win_each = true;
    for (auto& w : wins) one_win_each = one_win_each && w.load() == 1;
    CHECK(one_win_each);
    CHECK(table.size() == kIds);

    // Thread k watches every id with bit k while finishing the ids i with
    // i % 4 == k. A watch that saw the task live must show up in the bits
    // its finish returned, and one that did not must not.
    std::vector<std::vector<uint8_t>> saw(kThreads, std::vector<uint8_t>(kIds, 0));
    std::vector<uint64_t> bits(kIds, 0);
    for (unsigned k = 0; k < kThreads; ++k) {
      threads.emplace_back([&, k] {
        for (std::size_t i = 0; i < kIds; ++i) {
          saw[k][i] = table.watch(name(i), k).has_value();
          std::size_t j = (i + kIds / 2) % kIds;  // finish elsewhere than we watch
          if (j % kThreads == k) bits[j] = table.finish(winner[j].load());
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(table.size() == 0);
    bool consistent = true;
    std::size_t watched = 0;
    for (std::size_t i = 0; i < kIds; ++i) {
      for (unsigned k = 0; k < kThreads; ++k) {
        bool bit = (bits[i] >> k) & 1;
        consistent = consistent && bit == static_cast<bool>(saw[k][i]);
        watched += saw[k][i];
      }
    }
    CHECK(consistent);
    CHECK(watched > 0);
    bool all_gone = true;
    for (std::size_t i = 0; i < kIds; ++i) all_gone = all_gone && !table.state(name(i));
    CHECK(all_gone);
  }

  TEST_CASE("admit holds the table to max_live; a refusal leaves nothing behind") {
    LiveTable table(4);
    zfleet::broker::ResultCache cache({});
    Task a = make("a"), b = make("b"), c = make("c"), a2 = make("a");
    using Admission = LiveTable::Admission;
    CHECK(table.admit(&a, cache, 0, 2) == Admission::inserted);
    CHECK(table.admit(&a2, cache, 0, 2) == Admission::duplicate);
    CHECK(table.admit(&b, cache, 0, 2) == Admission::inserted);
    CHECK(table.admit(&c, cache, 0, 2) == Admission::full);
    CHECK(table.size() == 2);
    CHECK_FALSE(table.state("c").has_value());
    CHECK(table.finish(&a) == 0);
    CHECK(table.size() == 1);
    CHECK(table.admit(&c, cache, 0, 2) == Admission::inserted);
    CHECK(table.size() == 2);
  }

  TEST_CASE("admit from many threads never overshoots max_live") {
    constexpr std::size_t kThreads = 4, kEach = 2000, kMax = 1000;
    LiveTable table(64);
    zfleet::broker::ResultCache cache({});
    std::vector<std::deque<Task>> tasks(kThreads);
    std::atomic<std::size_t> inserted{0};
    std::vector<std::thread> threads;
    for (std::size_t k = 0; k < kThreads; ++k) {
      for (std::size_t i = 0; i < kEach; ++i) tasks[k].push_back(make(name(k * kEach + i)));
      threads.emplace_back([&, k] {
        for (auto& t : tasks[k]) {
          if (table.admit(&t, cache, 0, kMax) == LiveTable::Admission::inserted) ++inserted;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(inserted.load() == kMax);
    CHECK(table.size() == kMax);
  }

  TEST_CASE("defect 3: a duplicate of a cached id is refused without entering the table") {
    // Intake used to insert, find the id cached, then erase: a long-poll get
    // in between set its waiter bit on the short-lived entry and lost it.
    LiveTable table(4);
    zfleet::broker::ResultCache cache({});
    auto rec = std::make_shared<zfleet::common::ResultRecord>();
    rec->id = "done-1";
    Task first = make("done-1");
    REQUIRE(table.insert(&first, cache, 1000));
    CHECK(table.watch("done-1", 3) == TaskState::pending);
    CHECK(table.finish(&first, cache, rec, 1000) == uint64_t{1} << 3);
    CHECK(cache.contains("done-1", 1000));
    Task dup = make("done-1");
    CHECK_FALSE(table.insert(&dup, cache, 1000));
    CHECK_FALSE(table.watch("done-1", 0).has_value());  // nothing to watch: the cache answers
    CHECK(table.size() == 0);
    Task live = make("live-1"), live_dup = make("live-1");
    REQUIRE(table.insert(&live, cache, 1000));
    CHECK_FALSE(table.insert(&live_dup, cache, 1000));
    CHECK(table.find("live-1") == &live);
    table.set_state(&live, TaskState::pending, 5000);
    auto v = table.view("live-1");
    REQUIRE(v.has_value());
    CHECK(v->run_after_us == 5000);
    // Once expired from the cache the id may be used again.
    CHECK(table.insert(&dup, cache, 1000 + 3600 * 1000 + 1));
  }
}
