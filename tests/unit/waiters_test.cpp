// Unit tests of broker/waiters: parked long-poll get / get_many requests
// released by finished tasks or by their deadline, each exactly once.
#include "broker/waiters.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

using zfleet::broker::Found;
using zfleet::broker::Waiter;
using zfleet::broker::Waiters;

namespace {

Waiter make(std::vector<std::string> ids, uint64_t deadline_us, std::string tag = "") {
  Waiter w;
  w.envelope.emplace_back(tag.data(), tag.size());
  w.envelope.emplace_back();
  w.corr = tag;
  w.ids = std::move(ids);
  w.many = w.ids.size() > 1;
  w.deadline_us = deadline_us;
  return w;
}

// A finished task's record, as the dispatcher's notice carries it.
std::shared_ptr<const zfleet::common::ResultRecord> rec(const std::string& id,
                                                        zfleet::common::TaskState state =
                                                            zfleet::common::TaskState::done) {
  auto r = std::make_shared<zfleet::common::ResultRecord>();
  r->id = id;
  r->state = state;
  return r;
}

// Drives `ws` the way a result thread does: takes a batch from expired(),
// and while batches come back full (more were due), waits the pause
// next_timeout_us() asks for and takes the next. Returns every waiter
// expired from `now` on; `now` ends after the last pause; `batches` counts
// the calls that returned waiters.
std::vector<Waiter> expire_burst(Waiters& ws, uint64_t& now, std::size_t* batches = nullptr) {
  std::vector<Waiter> all;
  for (;;) {
    auto out = ws.expired(now);
    REQUIRE(out.size() <= Waiters::kMaxExpiredPerCall);
    if (!out.empty() && batches != nullptr) ++*batches;
    const bool full = out.size() == Waiters::kMaxExpiredPerCall;
    for (auto& w : out) all.push_back(std::move(w));
    if (!full) return all;
    // A full batch: nothing more until the pause is over, then the rest.
    CHECK(ws.expired(now).empty());
    CHECK(ws.next_timeout_us(now, UINT64_MAX) <= Waiters::kExpiryPauseUs);
    now += ws.next_timeout_us(now, UINT64_MAX);
  }
}

std::string env0(const Waiter& w) {
  return std::string(static_cast<const char*>(w.envelope.at(0).data()), w.envelope.at(0).size());
}

}  // namespace

TEST_SUITE("waiters") {
  TEST_CASE("a single-id waiter is released by finished(id), with its envelope") {
    Waiters ws;
    ws.add(make({"a"}, 1000, "client-1"), {0});
    CHECK(ws.size() == 1);
    CHECK(ws.finished(rec("b")).empty());  // nobody waits on b
    CHECK(ws.size() == 1);
    auto out = ws.finished(rec("a"));
    REQUIRE(out.size() == 1);
    CHECK(out[0].ids == std::vector<std::string>{"a"});
    CHECK(out[0].corr == "client-1");
    CHECK(env0(out[0]) == "client-1");
    CHECK(out[0].envelope.size() == 2);
    CHECK(out[0].remaining == 0);
    CHECK(ws.size() == 0);
    CHECK(ws.finished(rec("a")).empty());   // released once only
    CHECK(ws.expired(5000).empty());   // and not again by its deadline
  }

  TEST_CASE("a get_many waiter is released only when all its pending ids finished") {
    Waiters ws;
    // b was already done when the request came: only a and c are pending.
    ws.add(make({"a", "b", "c"}, 1000, "many"), {0, 2});
    CHECK(ws.finished(rec("a")).empty());
    CHECK(ws.finished(rec("b")).empty());
    CHECK(ws.finished(rec("a")).empty());  // a second notice for a counts nothing
    CHECK(ws.size() == 1);
    auto out = ws.finished(rec("c"));
    REQUIRE(out.size() == 1);
    CHECK(out[0].many);
    CHECK(out[0].ids == std::vector<std::string>{"a", "b", "c"});
    CHECK(ws.size() == 0);
  }

  TEST_CASE("expired() returns the waiters past their deadline, once") {
    Waiters ws;
    ws.add(make({"x"}, 100, "early"), {0});
    ws.add(make({"y", "x"}, 300, "late"), {0, 1});
    ws.add(make({"z"}, 200, "mid"), {0});
    CHECK(ws.expired(99).empty());
    auto first = ws.expired(150);
    REQUIRE(first.size() == 1);
    CHECK(first[0].corr == "early");
    CHECK(ws.size() == 2);
    // The expired waiter on x is gone: x finishing touches only "late".
    CHECK(ws.finished(rec("x")).empty());
    auto rest = ws.expired(1000);
    REQUIRE(rest.size() == 2);
    std::set<std::string> tags{rest[0].corr, rest[1].corr};
    CHECK(tags == std::set<std::string>{"mid", "late"});
    CHECK(ws.size() == 0);
    CHECK(ws.finished(rec("y")).empty());
    CHECK(ws.finished(rec("z")).empty());
    CHECK(ws.expired(UINT64_MAX).empty());
  }

  TEST_CASE("a deadline exactly now has expired") {
    Waiters ws;
    ws.add(make({"a"}, 500), {0});
    CHECK(ws.expired(499).empty());
    CHECK(ws.expired(500).size() == 1);
  }

  TEST_CASE("next_timeout_us") {
    Waiters ws;
    CHECK(ws.next_timeout_us(0, 50) == 50);  // nothing parked: the cap
    ws.add(make({"a"}, 1000), {0});
    ws.add(make({"b"}, 400), {0});
    CHECK(ws.next_timeout_us(100, 100000) == 300);  // the earliest deadline
    CHECK(ws.next_timeout_us(100, 20) == 20);       // capped
    CHECK(ws.next_timeout_us(400, 100000) == 0);    // due
    CHECK(ws.next_timeout_us(900, 100000) == 0);    // overdue
    CHECK(ws.expired(400).size() == 1);
    CHECK(ws.next_timeout_us(400, 100000) == 600);
  }

  TEST_CASE("many waiters on one id are all released by one finished()") {
    Waiters ws;
    for (int i = 0; i < 100; ++i) ws.add(make({"hot"}, 1000 + i, std::to_string(i)), {0});
    ws.add(make({"other"}, 1000, "other"), {0});
    auto out = ws.finished(rec("hot"));
    CHECK(out.size() == 100);
    std::set<std::string> tags;
    for (const auto& w : out) tags.insert(w.corr);
    CHECK(tags.size() == 100);
    CHECK(ws.size() == 1);
    CHECK(ws.expired(5000).size() == 1);  // only "other" left
  }

  TEST_CASE("finished() in groups: oldest first, the rest left indexed, each waiter once") {
    Waiters ws;
    for (int i = 0; i < 1000; ++i) ws.add(make({"hot"}, 1000 + i, std::to_string(i)), {0});
    ws.add(make({"hot", "cold"}, 5000, "many"), {0, 1});
    auto record = rec("hot");
    std::vector<std::string> order;
    bool more = true;
    int calls = 0;
    while (more) {
      auto out = ws.finished(record, 128, more);
      CHECK(out.size() <= 128);
      for (const auto& w : out) order.push_back(w.corr);
      ++calls;
    }
    CHECK(calls == 8);  // 1001 slots, 128 at a time
    REQUIRE(order.size() == 1000);  // "many" still waits for "cold"
    CHECK(order.front() == "0");
    CHECK(order.back() == "999");
    CHECK(ws.size() == 1);
    CHECK(ws.indexed_ids() == 1);
    auto last = ws.finished(rec("cold"));
    REQUIRE(last.size() == 1);
    CHECK(last[0].found[0].rec == record);
    CHECK(ws.indexed_ids() == 0);
  }

  TEST_CASE("the records of finished ids are kept for the answer") {
    using zfleet::common::TaskState;
    Waiters ws;
    Waiter w = make({"a", "b", "c"}, 1000, "many");
    w.found.resize(3);
    w.found[1] = Found{};  // b: not known when asked (state unknown)
    ws.add(std::move(w), {0, 2});
    CHECK(ws.finished(rec("a", TaskState::failed)).empty());
    auto out = ws.expired(1000);  // c never finished
    REQUIRE(out.size() == 1);
    const auto& f = out[0].found;
    REQUIRE(f.size() == 3);
    REQUIRE(f[0].rec != nullptr);
    CHECK(f[0].rec->id == "a");
    CHECK(f[0].state == TaskState::failed);
    CHECK(f[1].final());
    CHECK(f[1].state == TaskState::unknown);
    CHECK_FALSE(f[2].final());  // still live: the result thread looks it up again
    CHECK(ws.finished(rec("c")).empty());  // its index entry left with it
  }

  TEST_CASE("a get_many naming one id twice is released when it finishes") {
    Waiters ws;
    ws.add(make({"d", "d"}, 1000), {0, 1});
    CHECK(ws.finished(rec("d")).size() == 1);
    CHECK(ws.size() == 0);
    CHECK(ws.expired(2000).empty());
  }

  // Defect 8: expiry scanned every index entry of an id for each expiring
  // waiter, so N waiters parked on one id cost O(N^2) to expire (100,000
  // took 91 s, stalling the result thread). Now each waiter unlinks only its
  // own slots, and expired() answers in bounded batches.
  TEST_CASE("100,000 waiters on one id expire together, in paced batches, each once") {
    constexpr int kWaiters = 100000;
    Waiters ws;
    for (int i = 0; i < kWaiters; ++i) {
      ws.add(make({"hot"}, 1000 + i % 7, std::to_string(i)), {0});
    }
    // Shares the id and lives on, past the whole burst (about 800 pauses).
    ws.add(make({"hot", "cold"}, 3'600'000'000, "later"), {0, 1});
    CHECK(ws.indexed_ids() == 2);
    uint64_t now = 2000;
    std::size_t batches = 0;
    auto out = expire_burst(ws, now, &batches);
    CHECK(out.size() == kWaiters);
    CHECK(batches == (kWaiters + Waiters::kMaxExpiredPerCall - 1) / Waiters::kMaxExpiredPerCall);
    std::vector<char> seen(kWaiters, 0);
    for (const auto& w : out) {
      const int i = std::stoi(w.corr);
      REQUIRE(seen[i] == 0);
      seen[i] = 1;
      CHECK_FALSE(w.found[0].final());  // still live: looked up again when answered
    }
    CHECK(ws.size() == 1);
    CHECK(ws.indexed_ids() == 2);  // "later" still waits on both ids
    CHECK(ws.finished(rec("hot")).empty());
    out = ws.finished(rec("cold"));
    REQUIRE(out.size() == 1);
    CHECK(out[0].corr == "later");
    CHECK(ws.size() == 0);
    CHECK(ws.indexed_ids() == 0);
  }

  TEST_CASE("a full batch pauses expiry; the deadlines left come after the pause") {
    Waiters ws;
    const std::size_t n = Waiters::kMaxExpiredPerCall + 5;
    for (std::size_t i = 0; i < n; ++i) ws.add(make({"a"}, 100), {0});
    CHECK(ws.expired(100).size() == Waiters::kMaxExpiredPerCall);
    CHECK(ws.expired(100).empty());
    CHECK(ws.next_timeout_us(100, 1'000'000) == Waiters::kExpiryPauseUs);
    CHECK(ws.next_timeout_us(100, 10) == 10);  // capped
    CHECK(ws.expired(100 + Waiters::kExpiryPauseUs - 1).empty());
    CHECK(ws.expired(100 + Waiters::kExpiryPauseUs).size() == 5);
    CHECK(ws.size() == 0);
    // A batch that was not full leaves no pause behind.
    ws.add(make({"b"}, 5000), {0});
    CHECK(ws.next_timeout_us(5000, 1'000'000) == 0);
    CHECK(ws.expired(5000).size() == 1);
  }

  TEST_CASE("100,000 waiters on one id are answered by one finished(), the index emptied") {
    constexpr int kWaiters = 100000;
    Waiters ws;
    for (int i = 0; i < kWaiters; ++i) ws.add(make({"hot"}, 3'600'000'000 + i, std::to_string(i)), {0});
    auto out = ws.finished(rec("hot"));
    CHECK(out.size() == kWaiters);
    std::set<std::string> tags;
    for (const auto& w : out) {
      tags.insert(w.corr);
      CHECK(w.found[0].rec != nullptr);
    }
    CHECK(tags.size() == kWaiters);
    CHECK(ws.size() == 0);
    CHECK(ws.indexed_ids() == 0);
    // Their hour-long deadlines are not kept for the hour.
    CHECK(ws.deadlines_held() < 2048);
    CHECK(ws.expired(UINT64_MAX).empty());
  }

  TEST_CASE("expiring some waiters of an id leaves the others indexed, then all go") {
    Waiters ws;
    for (int i = 0; i < 1000; ++i) {
      ws.add(make({"x", "y"}, i % 2 ? 100'000 : 200'000, std::to_string(i)), {0, 1});
    }
    ws.add(make({"y"}, 300'000, "only-y"), {0});
    uint64_t now = 150'000;
    auto first = expire_burst(ws, now);
    CHECK(first.size() == 500);
    for (const auto& w : first) CHECK(std::stoi(w.corr) % 2 == 1);
    CHECK(ws.indexed_ids() == 2);
    CHECK(ws.finished(rec("x")).empty());  // the 500 left still wait on y
    CHECK(ws.indexed_ids() == 1);
    auto out = ws.finished(rec("y"));
    CHECK(out.size() == 501);
    for (const auto& w : out) {
      if (w.corr == "only-y") continue;
      CHECK(w.found[0].rec->id == "x");
      CHECK(w.found[1].rec->id == "y");
    }
    CHECK(ws.size() == 0);
    CHECK(ws.indexed_ids() == 0);
  }

  TEST_CASE("a waiter answered before its deadline is not returned again by expired()") {
    Waiters ws;
    for (int i = 0; i < 3000; ++i) ws.add(make({"id" + std::to_string(i)}, 100 + i), {0});
    for (int i = 0; i < 3000; i += 2) CHECK(ws.finished(rec("id" + std::to_string(i))).size() == 1);
    uint64_t now = 10'000;
    auto out = expire_burst(ws, now);
    CHECK(out.size() == 1500);
    for (const auto& w : out) CHECK(std::stoi(w.ids[0].substr(2)) % 2 == 1);
    CHECK(ws.size() == 0);
    CHECK(ws.indexed_ids() == 0);
  }
}
