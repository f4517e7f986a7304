// Unit tests of broker/worker_registry: joining (new, repeated, revived,
// replaced), slot accounting on occupy/release, death with and without
// freeing slots, liveness and retention, and the RESYNC rate limit.
#include "broker/worker_registry.h"

#include <doctest/doctest.h>

using zfleet::broker::RegistryOptions;
using zfleet::broker::WorkerEntry;
using zfleet::broker::WorkerRegistry;
using zfleet::common::kIoPool;
using zfleet::common::WorkerInfo;

namespace {

WorkerInfo info(const char* id, uint32_t threads, uint64_t incarnation) {
  WorkerInfo i;
  i.id = id;
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
    WorkerEntry* w = r.join(info("a", 2, 1), "r-a", 0);
    CHECK(r.pick(kIoPool) == w);
    r.occupy(w, 10, 1);
    r.occupy(w, 11, 2);
    CHECK(r.pick(kIoPool) == nullptr);  // full
    CHECK(r.join(info("a", 2, 1), "r-a", 3) == w);  // the same process again: unchanged
    CHECK(w->inflight() == 2);
    CHECK_FALSE(r.release(w, 99, 5));        // not a slot it holds
    CHECK(r.release(w, 10, 5));
    CHECK_FALSE(r.release(w, 10, 5));        // twice: the second is nothing
    CHECK(r.pick(kIoPool) == w);
  }

  TEST_CASE("death keeps slots for a revival; GONE or a new process frees them") {
    WorkerRegistry r(options());
    WorkerEntry* w = r.join(info("a", 2, 1), "r-a", 0);
    r.occupy(w, 1, 0);
    r.mark_dead(w, 10, /*free_slots=*/false);
    CHECK_FALSE(w->alive);
    CHECK(r.pick(kIoPool) == nullptr);
    CHECK(r.join(info("a", 2, 1), "r-a", 20) == w);  // back: same entry, same slot
    CHECK(w->alive);
    CHECK(w->inflight() == 1);
    CHECK(r.pick(kIoPool) == w);
    WorkerEntry* fresh = r.join(info("a", 2, 2), "r-a", 30);  // a new process under the id
    CHECK(fresh->inflight() == 0);
    CHECK(r.find("a") == fresh);
    r.occupy(fresh, 2, 31);
    r.mark_dead(fresh, 40, /*free_slots=*/true);
    CHECK(fresh->inflight() == 0);
  }

  TEST_CASE("overdue lists silent live workers; dead ones are forgotten after retention") {
    WorkerRegistry r(options());
    WorkerEntry* a = r.join(info("a", 1, 1), "r-a", 0);
    WorkerEntry* b = r.join(info("b", 1, 2), "r-b", 0);
    r.seen(b, 900);
    auto late = r.overdue(1500);
    REQUIRE(late.size() == 1);
    CHECK(late[0].worker == a);
    r.mark_dead(a, 1500, false);
    CHECK(r.overdue(1600).empty());
    CHECK(r.size() == 2);
    CHECK(r.board().size() == 2);
    r.seen(b, 6000);
    r.overdue(6600);  // past a's retention (5000 us after its death)
    CHECK(r.find("a") == nullptr);
    CHECK(r.size() == 1);
    CHECK(r.alive_routes() == std::vector<std::string>{"r-b"});
  }

  TEST_CASE("heartbeats only count for live workers; RESYNC at most once per interval") {
    using zfleet::broker::HeartbeatFrom;
    WorkerRegistry r(options());
    zfleet::common::Heartbeat hb;
    hb.info = info("ghost", 1, 1);
    CHECK(r.heartbeat(hb, 10) == HeartbeatFrom::unknown);
    WorkerEntry* w = r.join(info("ghost", 1, 1), "r-ghost", 10);
    CHECK(w->token != 0);
    hb.active = 1;
    CHECK(r.heartbeat(hb, 20) == HeartbeatFrom::forged);  // no token: keeps nobody alive
    hb.token = w->token + 1;
    CHECK(r.heartbeat(hb, 30) == HeartbeatFrom::forged);
    CHECK(w->last_seen_us == 10);
    hb.token = w->token;
    CHECK(r.heartbeat(hb, 50) == HeartbeatFrom::worker);
    CHECK(w->last_seen_us == 50);
    CHECK(w->heartbeat.active == 1);
    CHECK(r.may_resync("x", 1000));
    CHECK_FALSE(r.may_resync("x", 1050));
    CHECK(r.may_resync("x", 1100));
  }

  TEST_CASE("a claim of more threads than workers.max_threads is capped") {
    RegistryOptions o = options();
    o.max_threads = 8;
    WorkerRegistry r(o);
    WorkerEntry* w = r.join(info("greedy", 100000, 1), "r-greedy", 0);
    CHECK(w->info.threads == 8);
    CHECK(w->capacity == 8);
    for (uint64_t d = 1; d <= 8; ++d) {
      REQUIRE(r.pick(kIoPool) == w);
      r.occupy(w, d, d);
    }
    CHECK(r.pick(kIoPool) == nullptr);
  }

  TEST_CASE("a worker whose heartbeats say it runs nothing while it holds slots is unhealthy") {
    WorkerRegistry r(options());  // liveness 1000 us
    WorkerEntry* w = r.join(info("sink", 2, 1), "r-sink", 0);
    zfleet::common::Heartbeat hb;
    hb.info = w->info;
    hb.token = w->token;
    r.occupy(w, 1, 0);
    CHECK(r.heartbeat(hb, 100) == zfleet::broker::HeartbeatFrom::worker);  // idle, holding d=1
    r.seen(w, 900);
    CHECK(r.overdue(1000).empty());
    hb.queued = 1;  // it says it has it: healthy again
    r.heartbeat(hb, 1050);
    r.seen(w, 1900);
    CHECK(r.overdue(2000).empty());
    hb.queued = 0;
    r.heartbeat(hb, 2100);
    r.seen(w, 3000);
    auto bad = r.overdue(3200);
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].worker == w);
    CHECK(std::string(bad[0].why).find("unhealthy") != std::string::npos);
    // Idle with no slot held is just idle.
    WorkerEntry* v = r.join(info("idle", 2, 2), "r-idle", 3200);
    hb.info = v->info;
    hb.token = v->token;
    r.heartbeat(hb, 3300);
    r.seen(v, 5000);
    r.seen(w, 5000);
    for (const auto& o : r.overdue(5100)) CHECK(o.worker != v);
  }

  TEST_CASE("a worker id is bound to its route: lookups by route follow restarts and reconnects") {
    WorkerRegistry r(options());
    WorkerEntry* w = r.join(info("a", 2, 1), "r1", 0);
    CHECK(r.find_route("r1") == w);
    CHECK(r.find_route("a") == nullptr);  // the id is not a route
    CHECK(r.join(info("a", 2, 1), "r2", 5) == w);  // the same process, reconnected
    CHECK(w->route == "r2");
    CHECK(r.find_route("r1") == nullptr);
    CHECK(r.find_route("r2") == w);
    WorkerEntry* fresh = r.join(info("a", 2, 2), "r3", 10);  // a new process under the id
    CHECK(r.find_route("r2") == nullptr);
    CHECK(r.find_route("r3") == fresh);
    CHECK(r.alive_routes() == std::vector<std::string>{"r3"});
  }
}
