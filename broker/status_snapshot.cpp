#include "broker/status_snapshot.h"

#include "common/protocol.h"

namespace zfleet::broker {
namespace {

void add_pools(const BrokerState& st, common::StatusSnapshot& s) {
  const Metrics& m = st.metrics;
  const auto scaling = st.local_board.read_scaling();
  for (int i = 0; i < st.pools.size(); ++i) {
    const PoolMetrics& p = m.pool[i];
    common::QueueStatus q;
    q.name = std::string(st.pools.name(static_cast<common::PoolId>(i)));
    q.depth = Metrics::get(p.queue_depth);
    q.delayed = Metrics::get(p.delayed);
    q.running = Metrics::get(p.running);
    q.submitted = Metrics::get(p.submitted);
    q.done = Metrics::get(p.done);
    q.failed = p.failed_total();
    if (auto it = scaling.find(q.name); it != scaling.end()) q.scaling = it->second;
    s.queues.push_back(std::move(q));
  }
  const auto t = m.totals(st.pools.size());
  s.submitted = t.submitted;
  s.done = t.done;
  s.failed = t.failed;
  s.retried = t.retried;
  s.cancelled = t.cancelled;
  s.running = t.running;
  s.delayed = t.delayed;
}

void add_journal(const BrokerState& st, uint64_t now, common::StatusSnapshot& s) {
  const auto* j = st.journal.stats;
  if (!j) return;
  constexpr auto r = std::memory_order_relaxed;
  s.journal = st.journal.at_start;
  s.journal->bytes = j->directory_bytes.load(r);
  s.journal->records = j->records.load(r);
  s.journal->fsyncs = j->fsyncs.load(r);
  const uint64_t last = j->last_fsync_at_us.load(r);
  s.journal->last_fsync_ms = last && now > last ? (now - last) / 1000 : 0;
  s.journal->fsync_p99_us = j->fsync_latency.quantile_us(0.99);
  s.journal->compactions = j->compactions.load(r);
}

}  // namespace

common::StatusSnapshot gather_status(const BrokerState& st, uint64_t now) {
  common::StatusSnapshot s;
  s.version = std::string(common::kVersion);
  s.uptime_ms = (now - st.started_us) / 1000;
  add_pools(st, s);
  s.stale_results = Metrics::get(st.metrics.stale_results);
  s.replies_dropped = Metrics::get(st.metrics.replies_dropped);
  s.live = st.live.size();
  s.waiters = Metrics::get(st.metrics.waiters);
  auto board = st.board.read();
  for (const auto& e : *board) {
    s.workers.push_back(e.status);
    s.workers.back().last_heartbeat_ms = now > e.heartbeat_us ? (now - e.heartbeat_us) / 1000 : 0;
  }
  s.local_workers = st.local_board.read();
  add_journal(st, now, s);
  const auto c = st.cache.stats();
  s.cache_shards = c.shards;
  s.cache_entries = c.entries;
  s.cache_bytes = c.bytes;
  s.cache_hits = c.hits;
  s.cache_misses = c.misses;
  s.cache_evictions = c.evictions;
  return s;
}

}  // namespace zfleet::broker
