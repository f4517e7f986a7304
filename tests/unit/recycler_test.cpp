// Unit tests of the recycle decision (worker/recycler.h): pure, numbers in.

#include <doctest/doctest.h>

#include "worker/recycler.h"

using zfleet::worker::RecyclePolicy;
using zfleet::worker::Recycler;

TEST_SUITE("recycler") {
  TEST_CASE("no limits: never, and disabled") {
    Recycler r(RecyclePolicy{});
    CHECK_FALSE(r.enabled());
    CHECK_FALSE(r.watches_rss());
    CHECK_FALSE(r.check(1'000'000, uint64_t{1} << 40));
  }

  TEST_CASE("max_tasks: recycles once that many tasks have started") {
    Recycler r(RecyclePolicy{5, 0});
    CHECK(r.enabled());
    CHECK_FALSE(r.watches_rss());
    CHECK_FALSE(r.check(0, 0));
    CHECK_FALSE(r.check(4, uint64_t{1} << 40));  // RSS is not watched
    auto why = r.check(5, 0);
    REQUIRE(why);
    CHECK(*why == "started 5 tasks (max_tasks_per_process 5)");
    CHECK(r.check(6, 0));
  }

  TEST_CASE("max_rss: recycles when RSS is over the cap; 0 means not measured") {
    Recycler r(RecyclePolicy{0, 40u << 20});
    CHECK(r.enabled());
    CHECK(r.watches_rss());
    CHECK_FALSE(r.check(1'000'000, 0));
    CHECK_FALSE(r.check(1, 40u << 20));  // at the cap: not over
    auto why = r.check(1, 85u << 20);
    REQUIRE(why);
    CHECK(*why == "resident memory 85 MiB is over max_rss_mb 40");
  }

  TEST_CASE("both limits: whichever comes first") {
    Recycler r(RecyclePolicy{100, 10u << 20});
    CHECK(r.check(100, 0)->starts_with("started 100 tasks"));
    CHECK(r.check(1, 11u << 20)->starts_with("resident memory 11 MiB"));
    CHECK_FALSE(r.check(99, 10u << 20));
  }

  TEST_CASE("rss_bytes() reads this process's resident memory") {
    const uint64_t rss = zfleet::worker::rss_bytes();
    CHECK(rss > 0);
    CHECK(rss < (uint64_t{64} << 30));
  }
}
