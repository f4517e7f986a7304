#include "broker/metrics_text.h"

#include <string_view>

#include "broker/prom_writer.h"
#include "broker/status_snapshot.h"
#include "common/log.h"
#include "common/protocol.h"

namespace zfleet::broker {
namespace {

using common::StatusSnapshot;

void pool_tasks(PromWriter& w, const BrokerState& st) {
  const int n = st.pools.size();
  auto name = [&](int i) { return st.pools.name(static_cast<common::PoolId>(i)); };
  auto per_pool = [&](std::string_view metric, const char* type, const char* help, auto get) {
    w.family(metric, type, help);
    for (int i = 0; i < n; ++i) w.sample(metric, {{"pool", name(i)}}, get(st.metrics.pool[i]));
  };
  per_pool("zfleet_tasks_submitted_total", "counter", "Tasks accepted, by pool.",
           [](const PoolMetrics& p) { return Metrics::get(p.submitted); });
  per_pool("zfleet_tasks_done_total", "counter", "Tasks finished done, by pool.",
           [](const PoolMetrics& p) { return Metrics::get(p.done); });
  w.family("zfleet_tasks_failed_total", "counter", "Tasks finished failed, by pool and error code.");
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < kTaskErrorCodes; ++c) {
      const auto code = common::to_string(static_cast<common::TaskErrorCode>(c));
      w.sample("zfleet_tasks_failed_total", {{"pool", name(i)}, {"code", code}},
               Metrics::get(st.metrics.pool[i].failed[c]));
    }
  }
  per_pool("zfleet_tasks_cancelled_total", "counter", "Tasks failed `cancelled` (also in failed), by pool.",
           [](const PoolMetrics& p) {
             return Metrics::get(p.failed_of(common::TaskErrorCode::cancelled));
           });
  per_pool("zfleet_tasks_retried_total", "counter",
           "Re-dispatches after a lost worker and retries after a failure, by pool.",
           [](const PoolMetrics& p) { return Metrics::get(p.retried); });
  per_pool("zfleet_tasks_running", "gauge", "Tasks running on workers, by pool.",
           [](const PoolMetrics& p) { return Metrics::get(p.running); });
  per_pool("zfleet_queue_depth", "gauge", "Runnable tasks waiting for a worker, by pool.",
           [](const PoolMetrics& p) { return Metrics::get(p.queue_depth); });
  per_pool("zfleet_queue_delayed", "gauge", "Tasks delayed or waiting for a retry's backoff, by pool.",
           [](const PoolMetrics& p) { return Metrics::get(p.delayed); });
  w.family("zfleet_task_queue_wait_seconds", "histogram",
           "Time from runnable (queued) to dispatched, per dispatch, by pool.");
  for (int i = 0; i < n; ++i)
    w.histogram("zfleet_task_queue_wait_seconds", {{"pool", name(i)}}, st.metrics.pool[i].queue_wait);
  w.family("zfleet_task_run_seconds", "histogram",
           "Run time of each run as its worker measured it (until the deadline for a timeout), by pool.");
  for (int i = 0; i < n; ++i)
    w.histogram("zfleet_task_run_seconds", {{"pool", name(i)}}, st.metrics.pool[i].run_time);
}

// Adaptive pools only (PoolConfig::scales): their process counts and the
// changes the scaler made (pool_scaler.h).
void pool_scaling(PromWriter& w, const BrokerState& st, const StatusSnapshot& s) {
  std::vector<std::pair<int, const common::PoolScaling*>> scaling;
  for (int i = 0; i < static_cast<int>(s.queues.size()); ++i) {
    if (s.queues[i].scaling) scaling.emplace_back(i, &*s.queues[i].scaling);
  }
  if (scaling.empty()) return;
  auto name = [&](int i) { return st.pools.name(static_cast<common::PoolId>(i)); };
  auto gauge = [&](std::string_view metric, const char* help, auto get) {
    w.family(metric, "gauge", help);
    for (const auto& [i, sc] : scaling) w.sample(metric, {{"pool", name(i)}}, uint64_t{get(*sc)});
  };
  gauge("zfleet_pool_processes", "Local processes of an adaptive pool (starting and draining included).",
        [](const common::PoolScaling& sc) { return sc.processes; });
  gauge("zfleet_pool_min_processes", "An adaptive pool's min_processes.",
        [](const common::PoolScaling& sc) { return sc.min_processes; });
  gauge("zfleet_pool_max_processes", "An adaptive pool's max_processes.",
        [](const common::PoolScaling& sc) { return sc.max_processes; });
  w.family("zfleet_pool_scaling_total", "counter",
           "Changes of an adaptive pool, by direction (up, down, cancelled: a drain undone).");
  for (const auto& [i, sc] : scaling) {
    const PoolMetrics& p = st.metrics.pool[i];
    w.sample("zfleet_pool_scaling_total", {{"pool", name(i)}, {"direction", "up"}}, Metrics::get(p.scaled_up));
    w.sample("zfleet_pool_scaling_total", {{"pool", name(i)}, {"direction", "down"}}, Metrics::get(p.scaled_down));
    w.sample("zfleet_pool_scaling_total", {{"pool", name(i)}, {"direction", "cancelled"}},
             Metrics::get(p.scale_downs_cancelled));
  }
}

void workers(PromWriter& w, const StatusSnapshot& s) {
  auto per_worker = [&](std::string_view metric, const char* type, const char* help, auto get) {
    w.family(metric, type, help);
    for (const auto& ws : s.workers) {
      w.sample(metric, {{"worker", ws.id}, {"pool", ws.type}, {"host", ws.host}}, get(ws));
    }
  };
  using WS = common::WorkerStatus;
  per_worker("zfleet_worker_up", "gauge", "1 while the worker is alive (heartbeats on time), 0 once declared dead.",
             [](const WS& x) { return uint64_t{x.alive}; });
  per_worker("zfleet_worker_threads", "gauge", "Executor threads of the worker.",
             [](const WS& x) { return uint64_t{x.threads}; });
  per_worker("zfleet_worker_capacity", "gauge", "Most tasks the broker keeps in flight to the worker (threads + prefetch).",
             [](const WS& x) { return uint64_t{x.capacity}; });
  per_worker("zfleet_worker_inflight", "gauge", "Tasks dispatched to the worker and not yet answered.",
             [](const WS& x) { return uint64_t{x.inflight}; });
  per_worker("zfleet_worker_active", "gauge", "Tasks running on the worker (its last heartbeat).",
             [](const WS& x) { return uint64_t{x.active}; });
  per_worker("zfleet_worker_tasks_done_total", "counter", "Results the broker received done from the worker.",
             [](const WS& x) { return x.done; });
  per_worker("zfleet_worker_tasks_failed_total", "counter", "Results the broker received failed from the worker.",
             [](const WS& x) { return x.failed; });
  per_worker("zfleet_worker_rss_bytes", "gauge", "Resident memory of the worker process (its last heartbeat).",
             [](const WS& x) { return x.rss_bytes; });
  per_worker("zfleet_worker_heartbeat_age_seconds", "gauge", "Time since the worker's last heartbeat.",
             [](const WS& x) { return static_cast<double>(x.last_heartbeat_ms) / 1000.0; });
  w.family("zfleet_local_worker_restarts_total", "counter",
           "Restarts of each local worker process the broker supervises, by pool and slot.");
  for (const auto& l : s.local_workers) {
    const std::string slot = std::to_string(l.slot);
    w.sample("zfleet_local_worker_restarts_total", {{"pool", l.type}, {"slot", slot}}, l.restarts);
  }
}

void cache_and_broker(PromWriter& w, const BrokerState& st, const StatusSnapshot& s) {
  w.single("zfleet_cache_entries", "gauge", "Results held in the result cache.", s.cache_entries);
  w.single("zfleet_cache_bytes", "gauge", "Bytes of results held in the result cache.", s.cache_bytes);
  w.single("zfleet_cache_hits_total", "counter", "Gets answered from the result cache.", s.cache_hits);
  w.single("zfleet_cache_misses_total", "counter", "Gets for ids neither live nor cached.", s.cache_misses);
  w.single("zfleet_cache_evictions_total", "counter", "Results evicted from the cache before their TTL.", s.cache_evictions);
  w.single("zfleet_live_tasks", "gauge", "Tasks queued, delayed, running or retrying (broker.max_live).", s.live);
  w.single("zfleet_waiters", "gauge", "Long-poll gets parked now (broker.max_waiters).", s.waiters);
  w.single("zfleet_replies_dropped_total", "counter", "Replies dropped because the client's queue was full or it had gone.", s.replies_dropped);
  w.single("zfleet_stale_results_total", "counter", "Worker results not for their task's current dispatch (ignored).", s.stale_results);
  static constexpr std::string_view kEndpointNames[kEndpoints] = {"frontend", "results", "backend", "status"};
  w.family("zfleet_invalid_messages_total", "counter", "Malformed messages dropped or refused, by endpoint.");
  for (int e = 0; e < kEndpoints; ++e)
    w.sample("zfleet_invalid_messages_total", {{"endpoint", kEndpointNames[e]}}, Metrics::get(st.metrics.invalid[e]));
  w.single("zfleet_log_messages_dropped_total", "counter",
           "Log lines dropped because the log output could not keep up (a stuck stderr).",
           common::log_messages_dropped());
}

void journal_figures(PromWriter& w, const BrokerState& st, const StatusSnapshot& s) {
  const auto* j = st.journal.stats;
  if (!j || !s.journal) return;
  constexpr auto r = std::memory_order_relaxed;
  w.single("zfleet_journal_bytes", "gauge", "Bytes of the journal on disk (segments and snapshot).", s.journal->bytes);
  w.single("zfleet_journal_records_total", "counter", "Records written to the journal since start.", j->records.load(r));
  w.single("zfleet_journal_written_bytes_total", "counter", "Record bytes appended to journal segments since start.", j->bytes_written.load(r));
  w.single("zfleet_journal_compactions_total", "counter", "Journal compactions (snapshot + segment deletion).", j->compactions.load(r));
  w.family("zfleet_journal_fsync_seconds", "histogram", "Duration of each fsync of a journal segment.");
  w.histogram("zfleet_journal_fsync_seconds", {}, j->fsync_latency);
}

}  // namespace

std::string render_metrics(const BrokerState& st, uint64_t now_us) {
  const StatusSnapshot s = gather_status(st, now_us);
  PromWriter w;
  w.family("zfleet_build_info", "gauge", "Always 1; the version as a label.");
  w.sample("zfleet_build_info", {{"version", s.version}}, uint64_t{1});
  w.single("zfleet_uptime_seconds", "gauge", "Time since the broker started.", static_cast<double>(s.uptime_ms) / 1000.0);
  pool_tasks(w, st);
  pool_scaling(w, st, s);
  workers(w, s);
  cache_and_broker(w, st, s);
  journal_figures(w, st, s);
  return w.take();
}

}  // namespace zfleet::broker
