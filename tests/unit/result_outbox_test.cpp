// Unit tests of worker/result_outbox: when a pool thread must wake the I/O
// thread, and what the I/O thread takes. Times are passed in explicitly, so
// nothing here depends on the clock.
#include "worker/result_outbox.h"

#include <doctest/doctest.h>

#include <string>

using zfleet::common::Frames;
using zfleet::worker::ResultOutbox;

namespace {

Frames result(const std::string& id) {
  Frames f;
  f.emplace_back(id.data(), id.size());
  return f;
}

std::string id_of(const Frames& f) {
  return std::string(static_cast<const char*>(f.at(0).data()), f.at(0).size());
}

}  // namespace

TEST_SUITE("result_outbox") {
  TEST_CASE("a result not held wakes the I/O thread, once until it takes") {
    ResultOutbox box;
    CHECK_FALSE(box.held());
    CHECK(box.add(result("a"), 100, false));
    CHECK_FALSE(box.add(result("b"), 101, false));  // a wake is already on its way
    CHECK(box.held());
    auto out = box.take();
    REQUIRE(out.size() == 2);
    CHECK(id_of(out[0]) == "a");
    CHECK(id_of(out[1]) == "b");
    CHECK_FALSE(box.held());
    CHECK(box.add(result("c"), 102, false));  // taken: the next one wakes again
  }

  TEST_CASE("held results wait for the group to end, fill up, or age") {
    ResultOutbox box;
    CHECK_FALSE(box.add(result("a"), 1000, true));
    CHECK_FALSE(box.add(result("b"), 1000 + ResultOutbox::kMaxHoldUs - 1, true));
    CHECK(box.add(result("c"), 1000 + ResultOutbox::kMaxHoldUs, true));  // the oldest is due
    CHECK(box.take().size() == 3);

    for (std::size_t i = 0; i + 1 < ResultOutbox::kMaxHeld; ++i) {
      CHECK_FALSE(box.add(result(std::to_string(i)), 5000, true));
    }
    CHECK(box.add(result("last"), 5000, true));  // kMaxHeld reached
    CHECK(box.take().size() == ResultOutbox::kMaxHeld);

    CHECK_FALSE(box.add(result("a"), 9000, true));
    CHECK(box.add(result("end"), 9001, false));  // the group ended
    CHECK(box.take().size() == 2);
  }

  TEST_CASE("take_overdue() takes only a group past kMaxHoldUs") {
    ResultOutbox box;
    CHECK(box.take_overdue(0).empty());
    CHECK_FALSE(box.add(result("a"), 1000, true));
    CHECK(box.take_overdue(1000 + ResultOutbox::kMaxHoldUs - 1).empty());
    CHECK(box.held());
    auto out = box.take_overdue(1000 + ResultOutbox::kMaxHoldUs);
    REQUIRE(out.size() == 1);
    CHECK(id_of(out[0]) == "a");
    CHECK_FALSE(box.held());
  }
}
