// Unit tests of broker/waiters: parked long-poll get / get_many requests
// released by finished tasks or by their deadline, each exactly once.
#include "broker/waiters.h"

#include <doctest/doctest.h>

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

std::string env0(const Waiter& w) {
  return std::string(static_cast<const char*>(w.envelope.at(0).data()), w.envelope.at(0).size());
}

}  // namespace

TEST_SUITE("waiters") {
  TEST_CASE("a single-id waiter is released by finished(id), with its envelope") {
    Waiters ws;
    ws.add(make({"a"}, 1000, "client-1"), {"a"});
    CHECK(ws.size() == 1);
    CHECK(ws.finished("b").empty());  // nobody waits on b
    CHECK(ws.size() == 1);
    auto out = ws.finished("a");
    REQUIRE(out.size() == 1);
    CHECK(out[0].ids == std::vector<std::string>{"a"});
    CHECK(out[0].corr == "client-1");
    CHECK(env0(out[0]) == "client-1");
    CHECK(out[0].envelope.size() == 2);
    CHECK(out[0].remaining == 0);
    CHECK(ws.size() == 0);
    CHECK(ws.finished("a").empty());   // released once only
    CHECK(ws.expired(5000).empty());   // and not again by its deadline
  }

  TEST_CASE("a get_many waiter is released only when all its pending ids finished") {
    Waiters ws;
    // b was already done when the request came: only a and c are pending.
    ws.add(make({"a", "b", "c"}, 1000, "many"), {"a", "c"});
    CHECK(ws.finished("a").empty());
    CHECK(ws.finished("b").empty());
    CHECK(ws.finished("a").empty());  // a second notice for a counts nothing
    CHECK(ws.size() == 1);
    auto out = ws.finished("c");
    REQUIRE(out.size() == 1);
    CHECK(out[0].many);
    CHECK(out[0].ids == std::vector<std::string>{"a", "b", "c"});
    CHECK(ws.size() == 0);
  }

  TEST_CASE("expired() returns the waiters past their deadline, once") {
    Waiters ws;
    ws.add(make({"x"}, 100, "early"), {"x"});
    ws.add(make({"y", "x"}, 300, "late"), {"y", "x"});
    ws.add(make({"z"}, 200, "mid"), {"z"});
    CHECK(ws.expired(99).empty());
    auto first = ws.expired(150);
    REQUIRE(first.size() == 1);
    CHECK(first[0].corr == "early");
    CHECK(ws.size() == 2);
    // The expired waiter on x is gone: x finishing touches only "late".
    CHECK(ws.finished("x").empty());
    auto rest = ws.expired(1000);
    REQUIRE(rest.size() == 2);
    std::set<std::string> tags{rest[0].corr, rest[1].corr};
    CHECK(tags == std::set<std::string>{"mid", "late"});
    CHECK(ws.size() == 0);
    CHECK(ws.finished("y").empty());
    CHECK(ws.finished("z").empty());
    CHECK(ws.expired(UINT64_MAX).empty());
  }

  TEST_CASE("a deadline exactly now has expired") {
    Waiters ws;
    ws.add(make({"a"}, 500), {"a"});
    CHECK(ws.expired(499).empty());
    CHECK(ws.expired(500).size() == 1);
  }

  TEST_CASE("next_timeout_us") {
    Waiters ws;
    CHECK(ws.next_timeout_us(0, 50) == 50);  // nothing parked: the cap
    ws.add(make({"a"}, 1000), {"a"});
    ws.add(make({"b"}, 400), {"b"});
    CHECK(ws.next_timeout_us(100, 100000) == 300);  // the earliest deadline
    CHECK(ws.next_timeout_us(100, 20) == 20);       // capped
    CHECK(ws.next_timeout_us(400, 100000) == 0);    // due
    CHECK(ws.next_timeout_us(900, 100000) == 0);    // overdue
    CHECK(ws.expired(400).size() == 1);
    CHECK(ws.next_timeout_us(400, 100000) == 600);
  }

  TEST_CASE("many waiters on one id are all released by one finished()") {
    Waiters ws;
    for (int i = 0; i < 100; ++i) ws.add(make({"hot"}, 1000 + i, std::to_string(i)), {"hot"});
    ws.add(make({"other"}, 1000, "other"), {"other"});
    auto out = ws.finished("hot");
    CHECK(out.size() == 100);
    std::set<std::string> tags;
    for (const auto& w : out) tags.insert(w.corr);
    CHECK(tags.size() == 100);
    CHECK(ws.size() == 1);
    CHECK(ws.expired(5000).size() == 1);  // only "other" left
  }

  TEST_CASE("a get_many naming one id twice is released when it finishes") {
    Waiters ws;
    ws.add(make({"d", "d"}, 1000), {"d", "d"});
    CHECK(ws.finished("d").size() == 1);
    CHECK(ws.size() == 0);
    CHECK(ws.expired(2000).empty());
  }
}
