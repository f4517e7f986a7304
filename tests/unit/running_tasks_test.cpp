// Unit tests of worker/running_tasks: which pool thread runs which dispatch,
// cancel by dispatch number, and stuck detection from a deadline or a
// cancel. Times are passed in explicitly (steady microseconds); nothing
// here waits.
#include "worker/running_tasks.h"

#include <doctest/doctest.h>

#include "common/clock.h"

using zfleet::worker::CancelFlag;
using zfleet::worker::RunningTasks;

TEST_SUITE("running_tasks") {
  TEST_CASE("cancel raises the flag of the slot running that dispatch only") {
    RunningTasks running(2);
    CancelFlag& a = running.begin(0, 11, 0);
    CancelFlag& b = running.begin(1, 12, 0);
    CHECK(running.cancel(12, 1000));
    CHECK_FALSE(a.requested());
    CHECK(b.requested());
    running.end(0);
    running.end(1);
  }

  TEST_CASE("cancel of a finished task is a no-op: the slot's next task is untouched") {
    RunningTasks running(1);
    running.begin(0, 21, 0);
    running.end(0);
    CHECK_FALSE(running.cancel(21, zfleet::common::now_us()));
    CancelFlag& next = running.begin(0, 22, 0);
    CHECK_FALSE(next.requested());
    CHECK_FALSE(running.has_stuck(zfleet::common::now_us() + 3'600'000'000ULL, 1000));
    running.end(0);
  }

  TEST_CASE("a cancel that arrives between the queue and begin() still lands") {
    // A pool thread took dispatch 31 off the TaskQueue but has not begun it
    // when the cancel comes: begin() must find it cancelled.
    RunningTasks running(1);
    CHECK_FALSE(running.cancel(31, zfleet::common::now_us()));
    CancelFlag& flag = running.begin(0, 31, 0);
    CHECK(flag.requested());
    running.end(0);
    // Matched once: the same number on a later begin is a new task.
    CHECK_FALSE(running.begin(0, 31, 0).requested());
    running.end(0);
  }

  TEST_CASE("an old unmatched cancel expires (a restarted broker may reuse the number)") {
    RunningTasks running(1);
    const uint64_t now = zfleet::common::now_us();
    CHECK_FALSE(running.cancel(41, now - 2 * RunningTasks::kUnmatchedTtlUs));
    CHECK_FALSE(running.begin(0, 41, 0).requested());
    running.end(0);
  }

  TEST_CASE("only the last kMaxUnmatched unmatched cancels are kept") {
    RunningTasks running(1);
    const uint64_t now = zfleet::common::now_us();
    for (uint64_t d = 100; d < 100 + RunningTasks::kMaxUnmatched + 1; ++d) running.cancel(d, now);
    CHECK_FALSE(running.begin(0, 100, 0).requested());  // the oldest was dropped
    running.end(0);
    CHECK(running.begin(0, 101, 0).requested());
    running.end(0);
  }

  TEST_CASE("stuck: past the deadline plus grace, or past the cancel plus grace") {
    RunningTasks running(2);
    running.begin(0, 51, 10'000);  // deadline at 10 ms
    CHECK_FALSE(running.has_stuck(10'500, 1000));
    CHECK(running.has_stuck(11'001, 1000));
    running.end(0);
    CHECK_FALSE(running.has_stuck(11'001, 1000));

    running.begin(1, 52, 0);  // no deadline: never stuck by time alone
    CHECK_FALSE(running.has_stuck(1'000'000'000, 1000));
    CHECK(running.cancel(52, 2'000'000));
    CHECK_FALSE(running.has_stuck(2'000'500, 1000));
    CHECK(running.has_stuck(2'001'001, 1000));
    // A second cancel does not restart the clock.
    CHECK(running.cancel(52, 2'500'000));
    CHECK(running.has_stuck(2'001'001, 1000));
    running.end(1);
    CHECK_FALSE(running.has_stuck(2'001'001, 1000));
  }
}
