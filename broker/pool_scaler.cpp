#include "broker/broker_log.h"
#include "broker/pool_scaler.h"

#include <algorithm>

#include "common/clock.h"

namespace zfleet::broker {

PoolScaler::PoolScaler(BrokerState& st, Supervisor& supervisor, Tell tell)
    : st_(st),
      supervisor_(supervisor),
      tell_(std::move(tell)),
      // Decisions are taken at heartbeat pace: the figures they read are
      // refreshed with the worker board, and an idle broker wakes no more
      // often than its workers' heartbeats.
      tick_us_(uint64_t(st.config.workers.heartbeat_ms) * 1000) {
  const auto all = st.config.workers.all();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i]->scales()) continue;
    Pool p{all[i], static_cast<common::PoolId>(i), {}, {}};
    p.shown.min_processes = static_cast<uint32_t>(all[i]->min_processes);
    p.shown.max_processes = static_cast<uint32_t>(all[i]->max_processes);
    p.shown.processes = p.shown.min_processes;
    pools_.push_back(std::move(p));
  }
  publish();
}

// Slots of the pool's registered processes that are not leaving, plus the
// threads of its processes still starting (they count as free slots).
PoolLoad PoolScaler::load_of(const Pool& p, const std::vector<Supervisor::LocalProcess>& procs,
                             uint64_t now_us) const {
  PoolLoad l;
  l.processes = static_cast<int>(procs.size());
  const auto board = st_.board.read();
  for (const auto& e : *board) {
    if (!e.status.alive || e.leaving || e.status.type != p.cfg->name) continue;
    const int threads = static_cast<int>(e.status.threads);
    l.slots += threads;
    l.busy += std::min<int>(static_cast<int>(e.status.inflight), threads);
  }
  for (const auto& proc : procs) {
    if (proc.retiring) ++l.draining;
    const bool registered = proc.pid > 0 && std::any_of(board->begin(), board->end(), [&](const BoardEntry& e) {
      return e.status.alive && e.status.pid == proc.pid;
    });
    if (!registered) {
      ++l.starting;
      l.slots += p.cfg->threads;
    }
  }
  const uint64_t since = Metrics::get(st_.metrics.pool[p.id].oldest_queued_us);
  l.oldest_wait_us = since != 0 && now_us > since ? now_us - since : 0;
  return l;
}

pid_t PoolScaler::least_loaded(const Pool& p, const std::vector<Supervisor::LocalProcess>& procs) const {
  const auto board = st_.board.read();
  pid_t best = -1;
  uint32_t best_inflight = UINT32_MAX;
  for (const auto& proc : procs) {
    if (proc.pid <= 0 || proc.retiring) continue;
    for (const auto& e : *board) {
      if (!e.status.alive || e.leaving || e.status.pid != proc.pid || e.status.type != p.cfg->name) continue;
      if (e.status.inflight < best_inflight) {
        best = proc.pid;
        best_inflight = e.status.inflight;
      }
    }
  }
  return best;
}

void PoolScaler::tick(uint64_t now_us) {
  if (!active() || now_us < next_tick_us_) return;
  next_tick_us_ = now_us + tick_us_;
  struct Want {
    Pool* pool;
    double pressure;
    std::string reason;
  };
  std::vector<Want> ups;
  for (Pool& p : pools_) {
    const auto procs = supervisor_.processes_of(*p.cfg);
    const PoolLoad load = load_of(p, procs, now_us);
    ScaleDecision d = decide_scaling(*p.cfg, load, p.state, now_us);
    p.shown.processes = static_cast<uint32_t>(procs.size());
    if (d.kind == ScaleDecision::up) {
      ups.push_back({&p, scale_up_pressure(*p.cfg, load), d.reason});
    } else if (d.kind != ScaleDecision::none) {
      apply(p, d, procs, now_us);
    }
  }
  // Fair under the cap: the most pressed pool first, config order on ties.
  std::stable_sort(ups.begin(), ups.end(), [](const Want& a, const Want& b) { return a.pressure > b.pressure; });
  const int cap = st_.config.workers.max_total_processes;
  for (const Want& w : ups) {
    if (cap > 0 && supervisor_.wanted_total() >= cap) {
      log()->debug("pool {} wants another process, but workers.max_total_processes = {} is reached",
                   w.pool->cfg->name, cap);
      continue;
    }
    apply(*w.pool, {ScaleDecision::up, w.reason}, supervisor_.processes_of(*w.pool->cfg), now_us);
  }
  publish();
}

void PoolScaler::apply(Pool& p, const ScaleDecision& d, const std::vector<Supervisor::LocalProcess>& procs,
                       uint64_t now_us) {
  const int n = static_cast<int>(procs.size());
  const std::string& name = p.cfg->name;
  if (d.kind == ScaleDecision::up) {
    if (!supervisor_.grow(*p.cfg, now_us)) return;
    p.state.last_change_us = now_us;
    Metrics::add(st_.metrics.pool[p.id].scaled_up);
    log()->info("pool {}: scaling up {} -> {} processes: {}", name, n, n + 1, d.reason);
    return note(p, n, n + 1, "up: " + d.reason);
  }
  if (d.kind == ScaleDecision::down) {
    const pid_t pid = least_loaded(p, procs);
    if (pid <= 0) return;
    supervisor_.set_retiring(pid, true);
    tell_(true, pid);
    p.state.last_change_us = now_us;
    p.state.fit_since_us = 0;
    Metrics::add(st_.metrics.pool[p.id].scaled_down);
    log()->info("pool {}: scaling down {} -> {} processes, draining pid {}: {}", name, n, n - 1, pid, d.reason);
    return note(p, n, n - 1, "down: " + d.reason);
  }
  // keep: every draining process of the pool goes back to work.
  for (const auto& proc : procs) {
    if (!proc.retiring || proc.pid <= 0) continue;
    supervisor_.set_retiring(proc.pid, false);
    tell_(false, proc.pid);
  }
  Metrics::add(st_.metrics.pool[p.id].scale_downs_cancelled);
  log()->info("pool {}: {}", name, d.reason);
  note(p, n - 1, n, d.reason);
}

void PoolScaler::note(Pool& p, int from, int to, const std::string& reason) {
  p.shown.has_last = true;
  p.shown.at_ms = common::wall_ms();
  p.shown.from = static_cast<uint32_t>(std::max(from, 0));
  p.shown.to = static_cast<uint32_t>(std::max(to, 0));
  p.shown.reason = reason;
}

void PoolScaler::publish() {
  std::map<std::string, common::PoolScaling> v;
  for (const Pool& p : pools_) v[p.cfg->name] = p.shown;
  st_.local_board.publish_scaling(std::move(v));
}

}  // namespace zfleet::broker
