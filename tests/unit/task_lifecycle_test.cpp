// Unit tests of broker/task_lifecycle: every transition of the table in
// docs/architecture.md ("Task lifecycle"), driven with no socket (see
// lifecycle_test_support.h), and one test per lifecycle defect of issue 9
// that fails on the code before the lifecycle existed.
#include "lifecycle_test_support.h"

using zfleet::broker::Phase;
using zfleet::common::CancelOutcome;
using zfleet::common::TaskErrorCode;
using zfleet::common::TaskState;
using zfleet::test::Rig;

namespace {

// Appended, not "d" + to_string(i): GCC 12 warns (-Wrestrict) on the latter.
std::string delayed_id(int i) {
  std::string s("d");
  s += std::to_string(i);
  return s;
}

}  // namespace

TEST_SUITE("task_lifecycle") {
  TEST_CASE("submit, dispatch, result: done once, slot freed, gauges back to zero") {
    Rig r;
    auto* w = r.worker("w", 2);
    r.submit("a");
    CHECK(r.state("a") == TaskState::pending);
    r.step();
    REQUIRE(r.sender.tasks.size() == 1);
    CHECK(r.sender.tasks[0].dispatch > 0);
    CHECK(r.sender.tasks[0].attempt == 1);
    CHECK(r.state("a") == TaskState::running);
    CHECK(w->inflight() == 1);
    CHECK(r.metric(r.st.metrics.pool[0].running) == 1);
    CHECK(r.metric(r.st.metrics.pool[0].queue_depth) == 0);
    CHECK(r.metric(r.st.metrics.pool[0].waiting) == 0);  // running: no longer counted by max_queued
    r.answer(w, r.sender.tasks[0], true);
    CHECK(r.state("a") == TaskState::done);
    CHECK(r.record("a")->attempts == 1);
    CHECK(w->inflight() == 0);
    CHECK(r.metric(r.st.metrics.pool[0].running) == 0);
    CHECK(r.metric(r.st.metrics.pool[0].done) == 1);
    // The same answer again is stale: nothing changes, it is counted.
    r.answer(w, r.sender.tasks[0], false);
    CHECK(r.state("a") == TaskState::done);
    CHECK(r.metric(r.st.metrics.stale_results) == 1);
    CHECK(r.metric(r.st.metrics.pool[0].done) == 1);
    CHECK(r.st.metrics.pool[0].failed_total() == 0);
  }

  TEST_CASE("defect 1: an id reused after its timed-out record expired runs to its end") {
    Rig r;
    auto* w = r.worker("w", 2);
    r.submit("x", {.timeout_ms = 100});
    r.step();
    REQUIRE(r.sender.tasks.size() == 1);
    r.step(200'000);  // past the deadline: failed timeout, the slot stays held
    CHECK(r.state("x") == TaskState::failed);
    CHECK(r.record("x")->error.code == TaskErrorCode::timeout);
    CHECK(w->inflight() == 1);
    CHECK(r.metric(r.st.metrics.pool[0].running) == 0);
    // Its record leaves the cache (TTL, LRU): the id is free again.
    r.st.cache.erase("x");
    REQUIRE(r.submit("x") != nullptr);
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    CHECK(r.sender.tasks[1].worker == "w");  // the same worker, one slot left
    CHECK(r.sender.tasks[1].dispatch != r.sender.tasks[0].dispatch);
    CHECK(r.state("x") == TaskState::running);
    r.answer(w, r.sender.tasks[1], true);
    CHECK(r.state("x") == TaskState::done);
    CHECK(r.metric(r.st.metrics.pool[0].running) == 0);
    // The stuck first run returns at last: stale, its slot freed, no change.
    r.answer(w, r.sender.tasks[0], false);
    CHECK(r.state("x") == TaskState::done);
    CHECK(w->inflight() == 0);
    CHECK(r.metric(r.st.metrics.stale_results) == 1);
  }

  TEST_CASE("defect 2: a late answer from a revived worker cannot complete the requeued run") {
    Rig r;
    auto* w = r.worker("w", 2, /*incarnation=*/7);
    r.submit("t", {.max_retries = 3});
    r.step();
    REQUIRE(r.sender.tasks.size() == 1);
    r.life.worker_lost(w, "no heartbeat", r.now, false);  // declared dead while hung
    CHECK(r.state("t") == TaskState::pending);
    CHECK(r.metric(r.st.metrics.pool[0].retried) == 1);
    // The same process registers again: it keeps the slot of the run it still has.
    auto* back = r.worker("w", 2, 7);
    CHECK(back == w);
    CHECK(w->alive);
    CHECK(w->inflight() == 1);
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    CHECK(w->inflight() == 2);  // at capacity: never past it
    r.submit("u");
    r.step();
    CHECK(r.sender.tasks.size() == 2);  // no free slot for u
    // The attempt-1 answer arrives: stale for t, but it frees its slot.
    r.answer(w, r.sender.tasks[0], true);
    CHECK(r.state("t") == TaskState::running);
    CHECK(r.metric(r.st.metrics.stale_results) == 1);
    REQUIRE(r.sender.tasks.size() == 3);  // u got the freed slot
    r.answer(w, r.sender.tasks[1], true);
    CHECK(r.state("t") == TaskState::done);
    CHECK(r.record("t")->attempts == 2);
  }

  TEST_CASE("a new process under a worker's id frees the old slots and requeues its runs") {
    Rig r;
    auto* w = r.worker("w", 1, 7);
    r.submit("t");
    r.step();
    r.life.worker_lost(w, "restarted", r.now, /*exiting=*/true);
    auto* fresh = r.worker("w", 1, 8);
    CHECK(fresh->inflight() == 0);
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    r.answer(fresh, r.sender.tasks[0], true);  // the old process's run: not a slot it holds
    CHECK(r.state("t") == TaskState::running);
    CHECK(fresh->inflight() == 1);
    r.answer(fresh, r.sender.tasks[1], true);
    CHECK(r.state("t") == TaskState::done);
  }

  TEST_CASE("worker lost: requeued at the head with attempts + 1, then worker_lost past max_retries") {
    Rig r;
    auto* w1 = r.worker("w1", 1, 1);
    r.submit("t", {.max_retries = 1});
    r.submit("later");
    r.step();
    r.life.worker_lost(w1, "no heartbeat", r.now, false);
    auto* w2 = r.worker("w2", 1, 2);
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    CHECK(r.sender.tasks[1].id == "t");  // head of the queue, before "later"
    CHECK(r.sender.tasks[1].attempt == 2);
    r.life.worker_lost(w2, "no heartbeat", r.now, false);
    CHECK(r.state("t") == TaskState::failed);
    CHECK(r.record("t")->error.code == TaskErrorCode::worker_lost);
    CHECK(r.record("t")->attempts == 2);
    CHECK(r.metric(r.st.metrics.pool[0].running) == 0);
  }

  TEST_CASE("delayed: pending with run_after, no worker slot, runnable when its timer fires") {
    Rig r;
    r.worker("w", 1);
    r.submit("d", {.delay_ms = 500});
    r.step();
    CHECK(r.sender.tasks.empty());
    auto v = r.st.live.view("d");
    REQUIRE(v.has_value());
    CHECK(v->state == TaskState::pending);
    CHECK(v->run_after_us == r.now + 500'000);
    CHECK(r.metric(r.st.metrics.pool[0].delayed) == 1);
    CHECK(r.metric(r.st.metrics.pool[0].queue_depth) == 0);
    CHECK(r.metric(r.st.metrics.pool[0].waiting) == 1);  // delayed: still counted by max_queued
    CHECK(r.metric(r.st.metrics.pool[0].held_delayed) == 1);  // and by max_delayed
    CHECK(r.life.next_timer_us() == r.now + 500'000);
    r.step(499'000);
    CHECK(r.sender.tasks.empty());
    r.step(1'000);
    REQUIRE(r.sender.tasks.size() == 1);
    CHECK(r.metric(r.st.metrics.pool[0].delayed) == 0);
    CHECK(r.metric(r.st.metrics.pool[0].held_delayed) == 0);  // due: its max_delayed place is free
    CHECK(r.state("d") == TaskState::running);
  }

  TEST_CASE("max_delayed: a cancelled delayed task gives its place back; a retry's wait takes none") {
    Rig r;
    auto* w = r.worker("w", 1);
    r.submit("d", {.delay_ms = 500});
    r.step();
    CHECK(r.metric(r.st.metrics.pool[0].held_delayed) == 1);
    CHECK(r.life.cancel("d", r.now) == CancelOutcome::cancelled);
    CHECK(r.metric(r.st.metrics.pool[0].held_delayed) == 0);
    r.submit("r", {.retries = 1, .backoff_ms = 1000});
    r.step();
    REQUIRE(r.sender.tasks.size() == 1);
    r.answer(w, r.sender.tasks[0], false);
    CHECK(r.metric(r.st.metrics.pool[0].delayed) == 1);       // waiting for its retry
    CHECK(r.metric(r.st.metrics.pool[0].held_delayed) == 0);  // never refused, never counted
  }

  TEST_CASE("retries: backoff doubles with +-20% jitter under the cap; last error and attempts kept") {
    Rig r;
    auto* w = r.worker("w", 1);
    r.submit("r", {.retries = 2, .backoff_ms = 1000});
    for (int run = 0; run < 3; ++run) {
      r.step();
      REQUIRE(r.sender.tasks.size() == std::size_t(run + 1));
      CHECK(r.sender.tasks.back().attempt == run + 1);
      r.answer(w, r.sender.tasks.back(), false, TaskErrorCode::exception);
      if (run == 2) break;
      auto v = r.st.live.view("r");
      REQUIRE(v.has_value());
      CHECK(v->state == TaskState::pending);
      const uint64_t wait = v->run_after_us - r.now;
      const uint64_t base = 1'000'000ull << run;
      CHECK(wait >= base * 8 / 10);
      CHECK(wait <= base * 12 / 10);
      CHECK(w->inflight() == 0);  // no slot held while waiting
      r.step(wait - 1);
      CHECK(r.sender.tasks.size() == std::size_t(run + 1));
      r.now += 1;
    }
    CHECK(r.state("r") == TaskState::failed);
    CHECK(r.record("r")->attempts == 3);
    CHECK(r.record("r")->error.message == "boom");
    CHECK(r.metric(r.st.metrics.pool[0].retried) == 2);
  }

  TEST_CASE("retries: only codes in retry_on; the cap applies after the jitter; timeouts retried") {
    Rig r;
    auto* w = r.worker("w", 1);
    r.submit("a", {.retries = 3, .retry_on = zfleet::common::error_bit(TaskErrorCode::timeout)});
    r.step();
    r.answer(w, r.sender.tasks.back(), false, TaskErrorCode::exception);
    CHECK(r.state("a") == TaskState::failed);  // exception is not in retry_on

    r.submit("b", {.timeout_ms = 50, .retries = 1, .backoff_ms = 4'000'000});
    r.step();
    r.step(60'000);  // deadline: a timeout, retried
    auto v = r.st.live.view("b");
    REQUIRE(v.has_value());
    CHECK(v->run_after_us - r.now == 60'000'000);  // 4000 s capped at 60 s
    CHECK(w->inflight() == 1);  // the timed-out run still holds its slot
  }

  TEST_CASE("cancel: queued, delayed, waiting for a retry, not yet handed over, unknown, finished") {
    Rig r;
    r.submit("q");
    CHECK(r.life.cancel("q", r.now) == CancelOutcome::cancelled);
    CHECK(r.state("q") == TaskState::failed);
    CHECK(r.record("q")->error.code == TaskErrorCode::cancelled);
    CHECK(r.metric(r.st.metrics.pool[0].queue_depth) == 0);
    r.submit("d", {.delay_ms = 10'000});
    CHECK(r.life.cancel("d", r.now) == CancelOutcome::cancelled);
    CHECK(r.life.timed() == 0);
    CHECK(r.metric(r.st.metrics.pool[0].delayed) == 0);
    CHECK(r.life.cancel("d", r.now) == CancelOutcome::too_late);
    CHECK(r.life.cancel("nope", r.now) == CancelOutcome::unknown);
    auto* w = r.worker("w", 1);
    r.step();
    CHECK(r.sender.tasks.empty());  // the cancelled task's tombstone is skipped
    r.submit("rw", {.retries = 1});
    r.step();
    r.answer(w, r.sender.tasks.back(), false);
    CHECK(r.life.cancel("rw", r.now) == CancelOutcome::cancelled);
    r.step(10'000'000);
    CHECK(r.sender.tasks.size() == 1);
    CHECK(r.metric(r.st.metrics.pool[0].failed_of(zfleet::common::TaskErrorCode::cancelled)) == 3);
    // Not yet handed to the dispatcher: failed at once, freed on arrival.
    auto* t = new zfleet::broker::Task;
    t->id.assign(1, 'h');
    REQUIRE(r.st.live.insert(t, r.st.cache, r.now / 1000));
    zfleet::broker::Metrics::add(r.st.metrics.pool[0].queue_depth);
    zfleet::broker::Metrics::add(r.st.metrics.pool[0].waiting);
    CHECK(r.life.cancel("h", r.now) == CancelOutcome::cancelled);
    CHECK(r.state("h") == TaskState::failed);
    r.life.accept(t, r.now);  // deletes it
    CHECK(r.metric(r.st.metrics.pool[0].queue_depth) == 0);
  }

  TEST_CASE("cancel while running: CANCEL sent; the worker's answer or the grace ends it") {
    Rig r;
    auto* w = r.worker("w", 2);
    r.submit("a", {.retries = 5});
    r.submit("b");
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    CHECK(r.life.cancel("a", r.now) == CancelOutcome::cancelling);
    CHECK(r.life.cancel("a", r.now) == CancelOutcome::cancelling);
    REQUIRE(r.sender.cancels.size() == 1);  // sent once
    CHECK(r.sender.cancels[0].dispatch == r.sender.tasks[0].dispatch);
    r.answer(w, r.sender.tasks[0], false, TaskErrorCode::cancelled);
    CHECK(r.record("a")->error.code == TaskErrorCode::cancelled);  // never retried
    CHECK(r.life.cancel("b", r.now) == CancelOutcome::cancelling);
    r.step(1'000'000);  // the worker never answered: the broker fails it
    CHECK(r.record("b")->error.code == TaskErrorCode::cancelled);
    CHECK(w->inflight() == 1);  // its slot is held until the worker answers
    r.answer(w, r.sender.tasks[1], true);
    CHECK(r.record("b")->error.code == TaskErrorCode::cancelled);  // one final state
    CHECK(w->inflight() == 0);
  }

  TEST_CASE("cancel while running: a task that finishes first stays done") {
    Rig r;
    auto* w = r.worker("w", 1);
    r.submit("a");
    r.step();
    CHECK(r.life.cancel("a", r.now) == CancelOutcome::cancelling);
    r.answer(w, r.sender.tasks[0], true);
    CHECK(r.state("a") == TaskState::done);
  }

  TEST_CASE("an unreachable worker is lost and its task requeued without an attempt") {
    Rig r;
    auto* w = r.worker("w", 1);
    r.sender.unreachable = true;
    r.submit("a");
    r.step();
    CHECK_FALSE(w->alive);
    CHECK(r.state("a") == TaskState::pending);
    r.sender.unreachable = false;
    r.worker("w2", 1, 9);
    r.step();
    REQUIRE(r.sender.tasks.size() == 1);
    CHECK(r.sender.tasks[0].attempt == 1);
  }

  TEST_CASE("returned unstarted: back at the head, attempt given back, no loss, slot freed") {
    Rig r;
    auto* w1 = r.worker("w1", 2, 1);
    r.submit("a", {.max_retries = 0});
    r.submit("b", {.max_retries = 0});
    r.submit("later");
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    r.life.returned(w1, r.sender.tasks[1].dispatch, r.now);  // b, never started
    CHECK(r.state("b") == TaskState::pending);
    CHECK(w1->inflight() == 1);
    r.life.returned(w1, r.sender.tasks[1].dispatch, r.now);  // again: changes nothing
    CHECK(w1->inflight() == 1);
    r.registry.stopping(w1);  // it is recycling: no more tasks for it
    auto* w2 = r.worker("w2", 1, 2);
    r.step();
    REQUIRE(r.sender.tasks.size() == 3);
    CHECK(r.sender.tasks[2].id == "b");  // head of the queue, before "later"
    CHECK(r.sender.tasks[2].worker == "w2");
    CHECK(r.sender.tasks[2].attempt == 1);  // the returned run did not count
    r.answer(w2, r.sender.tasks[2], true);
    CHECK(r.state("b") == TaskState::done);
    CHECK(r.record("b")->attempts == 1);
    // Returned many times over: never worker_lost (max_retries 0 would say so).
    r.answer(w1, r.sender.tasks[0], true);
    CHECK(r.state("a") == TaskState::done);
  }

  TEST_CASE("returned after a cancel: cancelled; returned after the deadline: slot only") {
    Rig r;
    auto* w = r.worker("w", 2);
    r.submit("c");
    r.submit("late", {.timeout_ms = 5});
    r.step();
    REQUIRE(r.sender.tasks.size() == 2);
    CHECK(r.life.cancel("c", r.now) == CancelOutcome::cancelling);
    r.life.returned(w, r.sender.tasks[0].dispatch, r.now);
    CHECK(r.state("c") == TaskState::failed);
    CHECK(r.record("c")->error.code == TaskErrorCode::cancelled);
    r.step(10'000);  // "late" times out, still holding its slot
    CHECK(r.state("late") == TaskState::failed);
    CHECK(w->inflight() == 1);
    r.life.returned(w, r.sender.tasks[1].dispatch, r.now);
    CHECK(w->inflight() == 0);
    CHECK(r.state("late") == TaskState::failed);
    CHECK(r.metric(r.st.metrics.pool[0].running) == 0);
  }

  TEST_CASE("100,000 delayed tasks cost no dispatch and cancel in O(log n) each") {
    Rig r;
    r.worker("w", 1);
    constexpr int kTasks = 100'000;
    for (int i = 0; i < kTasks; ++i) r.submit(delayed_id(i), {.delay_ms = 1000 + uint64_t(i % 977)});
    r.step();
    CHECK(r.sender.tasks.empty());
    CHECK(r.life.timed() == kTasks);
    for (int i = 0; i < kTasks; i += 2) CHECK(r.life.cancel(delayed_id(i), r.now) == CancelOutcome::cancelled);
    CHECK(r.life.timed() == kTasks / 2);
    r.step(2'000'000);
    CHECK(r.sender.tasks.size() == 1);  // one slot: the rest are queued, runnable
    CHECK(r.life.queued() == kTasks / 2 - 1);
    CHECK(r.metric(r.st.metrics.pool[0].delayed) == 0);
  }
}
