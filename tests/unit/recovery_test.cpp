// Unit tests of the journal's records (common/journal_codec) and of the
// fold that turns them back into broker state (broker/recovery): replay
// rules per record, id reuse, run-after times, results with their age and
// TTL, cache limits, and snapshot == replay.
#include "broker/recovery.h"

#include <doctest/doctest.h>

#include "config/config_loader.h"

using namespace zfleet;
using common::JournalType;

namespace {

common::AcceptRecord accept(const char* id, uint64_t wall, uint64_t run_after = 0) {
  common::AcceptRecord a;
  a.id = id;
  a.pool = "cpu";
  a.payload = std::string("\x94\xa1x\xa4main\xc4\x00\xc4\x00", 11);
  a.timeout_ms = 1234;
  a.max_retries = 2;
  a.retries = 3;
  a.retry_on = common::kDefaultRetryOn;
  a.retry_backoff_ms = 500;
  a.accepted_wall_ms = wall;
  a.run_after_wall_ms = run_after;
  return a;
}

common::FinishRecord finish(const char* id, uint64_t wall, bool ok = true) {
  common::FinishRecord f;
  f.rec.id = id;
  f.rec.state = ok ? common::TaskState::done : common::TaskState::failed;
  if (ok) f.rec.result = "\xa2ok";
  f.rec.error = {common::TaskErrorCode::cancelled, "m", "T", "tb"};
  f.rec.worker = "w1";
  f.rec.attempts = 2;
  f.rec.queued_us = 5;
  f.rec.run_us = 7;
  f.finished_wall_ms = wall;
  return f;
}

void feed(broker::RecoveryState& s, JournalType t, const std::string& payload) {
  s.apply(static_cast<uint8_t>(t), payload);
}

struct Broker {
  config::FleetConfig cfg = config::default_config();
  broker::BrokerState st{cfg};
};

}  // namespace

TEST_SUITE("recovery") {
  TEST_CASE("records round trip; damaged payloads are refused, never thrown") {
    auto a = common::decode_accept(common::encode_journal(accept("t1", 10, 20)));
    REQUIRE(a.has_value());
    CHECK(a->id == "t1");
    CHECK(a->pool == "cpu");
    CHECK(a->payload.size() == 11);
    CHECK(a->timeout_ms == 1234);
    CHECK(a->retries == 3);
    CHECK(a->run_after_wall_ms == 20);
    auto d = common::decode_dispatch(common::encode_journal(common::DispatchRecord{"t1", 1ull << 45, 3, 1, 2}));
    REQUIRE(d.has_value());
    CHECK(d->dispatch == 1ull << 45);
    CHECK(d->attempts == 3);
    auto r = common::decode_retry(common::encode_journal(common::RetryRecord{"t1", 2, 1, 99, 3}));
    REQUIRE(r.has_value());
    CHECK(r->run_after_wall_ms == 99);
    CHECK(r->losses == 3);
    auto f = common::decode_finish(common::encode_journal(finish("t1", 77, false)));
    REQUIRE(f.has_value());
    CHECK(f->rec.state == common::TaskState::failed);
    CHECK(f->rec.error.code == common::TaskErrorCode::cancelled);
    CHECK(f->rec.error.traceback == "tb");
    CHECK(f->finished_wall_ms == 77);
    std::string good = common::encode_journal(accept("t1", 10));
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
      CHECK_FALSE(common::decode_accept(good.substr(0, cut)).has_value());
    }
    CHECK_FALSE(common::decode_accept(common::encode_journal(common::RetryRecord{"x", 1, 1, 1})).has_value());
    CHECK_FALSE(common::decode_finish(std::string("\x9c", 1)).has_value());
  }

  TEST_CASE("replay: queued, running, delayed, retrying, finished; ids reused; restore") {
    Broker b;
    broker::RecoveryState s({});
    const uint64_t wall = 1'000'000'000'000;
    feed(s, JournalType::accept, common::encode_journal(accept("q", wall - 5000)));
    feed(s, JournalType::accept, common::encode_journal(accept("r", wall - 4000)));
    feed(s, JournalType::dispatch, common::encode_journal(common::DispatchRecord{"r", 42, 1, 0, 0}));
    feed(s, JournalType::accept, common::encode_journal(accept("d", wall - 3000, wall + 60'000)));
    feed(s, JournalType::accept, common::encode_journal(accept("w", wall - 2000)));
    feed(s, JournalType::dispatch, common::encode_journal(common::DispatchRecord{"w", 43, 1, 0, 0}));
    feed(s, JournalType::retry, common::encode_journal(common::RetryRecord{"w", 1, 1, wall + 2000, 1}));
    feed(s, JournalType::accept, common::encode_journal(accept("f", wall - 1000)));
    feed(s, JournalType::finish, common::encode_journal(finish("f", wall - 500)));
    feed(s, JournalType::dispatch, common::encode_journal(common::DispatchRecord{"f", 44, 2, 0, 0}));  // late: ignored
    feed(s, JournalType::finish, common::encode_journal(finish("again", wall - 900)));
    feed(s, JournalType::accept, common::encode_journal(accept("again", wall - 100)));  // id reused
    s.apply(9, "junk");
    CHECK(s.undecodable() == 1);
    CHECK(s.live() == 5);
    CHECK(s.finished() == 1);

    const uint64_t now_us = 50'000'000'000;
    auto out = s.restore(b.st, now_us, wall);
    REQUIRE(out.tasks.size() == 5);
    CHECK(out.tasks[0]->id == "r");  // the run in progress first, then acceptance order
    CHECK(out.tasks[0]->attempts == 1);
    CHECK(out.tasks[1]->id == "q");
    CHECK(out.tasks[2]->id == "d");
    CHECK(out.tasks[2]->due_us == now_us + 60'000'000);
    CHECK(out.tasks[3]->id == "w");
    CHECK(out.tasks[3]->retries_used == 1);
    CHECK(out.tasks[3]->losses == 1);  // kept through RETRY (and so through a snapshot)
    CHECK(out.tasks[3]->due_us == now_us + 2'000'000);
    CHECK(out.tasks[4]->id == "again");
    CHECK(out.tasks[1]->accepted_us == now_us - 5'000'000);
    REQUIRE(out.runs.size() == 1);
    CHECK(out.runs[0].dispatch == 42);
    CHECK(out.results == 1);
    CHECK(b.st.live.state("q") == common::TaskState::pending);
    auto rec = b.st.cache.get("f", now_us / 1000);
    REQUIRE(rec != nullptr);
    CHECK(rec->result == "\xa2ok");
    CHECK(broker::Metrics::get(b.st.metrics.pool[1].queue_depth) == 5);
    for (auto* t : out.tasks) {
      b.st.live.erase(t->id);
      delete t;
    }
  }

  TEST_CASE("results past their TTL or beyond the cache's limits are not restored") {
    Broker b;
    const uint64_t wall = 2'000'000'000'000;
    broker::RecoveryState s({.ttl_ms = 10'000, .max_entries = 3, .max_bytes = 1ull << 30});
    for (int i = 0; i < 6; ++i) {
      std::string id = "r";
      id += std::to_string(i);
      feed(s, JournalType::finish, common::encode_journal(finish(id.c_str(), wall - 1000 * (6 - i))));
    }
    feed(s, JournalType::finish, common::encode_journal(finish("old", wall - 20'000)));
    auto out = s.restore(b.st, 9'000'000'000, wall);
    CHECK(out.results == 3);  // the newest three
    CHECK(out.expired == 4);
    CHECK(b.st.cache.get("r5", 9'000'000) != nullptr);
    CHECK(b.st.cache.get("r2", 9'000'000) == nullptr);
    CHECK(b.st.cache.get("old", 9'000'000) == nullptr);
  }

  TEST_CASE("a snapshot rebuilds the same state with fewer records") {
    const uint64_t wall = 3'000'000'000'000;
    broker::RecoveryState s({});
    int applied = 0;
    for (int i = 0; i < 50; ++i) {
      std::string id = "t";
      id += std::to_string(i % 10);  // ids reused five times over
      feed(s, JournalType::accept, common::encode_journal(accept(id.c_str(), wall - 100)));
      feed(s, JournalType::dispatch, common::encode_journal(common::DispatchRecord{id, 100u + i, 1, 0, 0}));
      if (i < 45) feed(s, JournalType::finish, common::encode_journal(finish(id.c_str(), wall - 50)));
      applied += i < 45 ? 3 : 2;
    }
    broker::RecoveryState copy({});
    int emitted = 0;
    s.write_snapshot(wall, [&](uint8_t type, std::string_view payload) {
      copy.apply(type, payload);
      ++emitted;
    });
    CHECK(emitted < applied);
    CHECK(copy.live() == s.live());
    CHECK(copy.finished() == s.finished());
    Broker b1, b2;
    auto r1 = s.restore(b1.st, 1'000'000'000, wall);
    auto r2 = copy.restore(b2.st, 1'000'000'000, wall);
    REQUIRE(r1.tasks.size() == r2.tasks.size());
    for (std::size_t i = 0; i < r1.tasks.size(); ++i) {
      CHECK(r1.tasks[i]->id == r2.tasks[i]->id);
      CHECK(r1.tasks[i]->attempts == r2.tasks[i]->attempts);
      CHECK(r1.tasks[i]->losses == r2.tasks[i]->losses);
    }
    CHECK(r1.runs.size() == r2.runs.size());
    CHECK(r1.results == r2.results);
    for (auto* t : r1.tasks) delete t;
    for (auto* t : r2.tasks) delete t;
  }
}
