// Unit tests of broker/worker_registry: joining (new, repeated, revived,
// replaced), slot accounting on occupy/release, death with and without
// freeing slots, liveness and retention, and the RESYNC rate limit.
#include "broker/worker_registry.h"

#include <doctest/doctest.h>

using zfleet::broker::RegistryOptions;
using zfleet::broker::WorkerEntry;
using zfleet::broker::WorkerRegistry;
using zfleet::common::TaskType;
using zfleet::common::WorkerInfo;

namespace {

WorkerInfo info(const char* id, uint32_t threads, uint64_t incarnation) {
  WorkerInfo i;
  i.id = id;
  i.type = TaskType::io;
  i.threads = threads;
  i.capacity = threads;
  i.incarnation = incarnation;
  return i;
}

RegistryOptions options() {
  RegistryOptions o;
  o.prefetch = 0;
  o.liveness_us = 1000;
  o.dead_retention_us = 5000;
  o.resync_interval_us = 100;
  return o;
}

}  // namespace

TEST_SUITE("worker_registry") {
  TEST_CASE("join, repeated READY, occupy and release, capacity respected") {
    WorkerRegistry r(options());
    WorkerEntry* w = r.join(info("a", 2, 1), 0);
    CHECK(r.pick(TaskType::io) == w);
    r.occupy(w, 10, 1);
    r.occupy(w, 11, 2);
    CHECK(r.pick(TaskType::io) == nullptr);  // full
    CHECK(r.join(info("a", 2, 1), 3) == w);  // the same process again: unchanged
    CHECK(w->inflight() == 2);
    CHECK_FALSE(r.release(w, 99, 5));        // not a slot it holds
    CHECK(r.release(w, 10, 5));
    CHECK_FALSE(r.release(w, 10, 5));        // twice: the second is nothing
    CHECK(r.pick(TaskType::io) == w);
  }

  TEST_CASE("death keeps slots for a revival; GONE or a new process frees them") {
    WorkerRegistry r(options());
    WorkerEntry* w = r.join(info("a", 2, 1), 0);
    r.occupy(w, 1, 0);
    r.mark_dead(w, 10, /*free_slots=*/false);
    CHECK_FALSE(w->alive);
    CHECK(r.pick(TaskType::io) == nullptr);
    CHECK(r.join(info("a", 2, 1), 20) == w);  // back: same entry, same slot
    CHECK(w->alive);
    CHECK(w->inflight() == 1);
    CHECK(r.pick(TaskType::io) == w);
    WorkerEntry* fresh = r.join(info("a", 2, 2), 30);  // a new process under the id
    CHECK(fresh->inflight() == 0);
    CHECK(r.find("a") == fresh);
    r.occupy(fresh, 2, 31);
    r.mark_dead(fresh, 40, /*free_slots=*/true);
    CHECK(fresh->inflight() == 0);
  }

  TEST_CASE("overdue lists silent live workers; dead ones are forgotten after retention") {
    WorkerRegistry r(options());
    WorkerEntry* a = r.join(info("a", 1, 1), 0);
    WorkerEntry* b = r.join(info("b", 1, 2), 0);
    r.seen(b, 900);
    auto late = r.overdue(1500);
    REQUIRE(late.size() == 1);
    CHECK(late[0] == a);
    r.mark_dead(a, 1500, false);
    CHECK(r.overdue(1600).empty());
    CHECK(r.size() == 2);
    CHECK(r.board().size() == 2);
    r.seen(b, 6000);
    r.overdue(6600);  // past a's retention (5000 us after its death)
    CHECK(r.find("a") == nullptr);
    CHECK(r.size() == 1);
    CHECK(r.alive_ids() == std::vector<std::string>{"b"});
  }

  TEST_CASE("heartbeats only count for live workers; RESYNC at most once per interval") {
    WorkerRegistry r(options());
    zfleet::common::Heartbeat hb;
    hb.info = info("ghost", 1, 1);
    CHECK_FALSE(r.heartbeat(hb, 10));
    WorkerEntry* w = r.join(info("ghost", 1, 1), 10);
    hb.active = 1;
    CHECK(r.heartbeat(hb, 50));
    CHECK(w->last_seen_us == 50);
    CHECK(w->heartbeat.active == 1);
    CHECK(r.may_resync("x", 1000));
    CHECK_FALSE(r.may_resync("x", 1050));
    CHECK(r.may_resync("x", 1100));
  }
}
