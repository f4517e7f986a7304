// Unit tests of broker/waiters: parked long-poll get / get_many requests
// released by finished tasks or by their deadline, each exactly once.
#include "broker/waiters.h"

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

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

  TEST_CASE("the records of finished ids are kept for the answer") {
    using zfleet::common::TaskState;
    Waiters ws;
    Waiter w = make({"a", "b", "c"}, 1000, "many");
    w.found.resize(3);
    w.found[1] = {TaskState::unknown, nullptr};  // b: not known when asked
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
}
