#include "broker/broker_log.h"
#include "broker/worker_registry.h"

#include <algorithm>

namespace zfleet::broker {

WorkerEntry* WorkerRegistry::find(std::string_view id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

WorkerEntry* WorkerRegistry::find_route(std::string_view route) {
  auto it = routes_.find(std::string(route));
  return it == routes_.end() ? nullptr : it->second;
}

WorkerEntry* WorkerRegistry::join(common::WorkerInfo info, std::string route, uint64_t now_us,
                                  common::PoolId pool) {
  if (WorkerEntry* old = find(info.id)) {
    bool same_process = old->info.incarnation == info.incarnation && info.incarnation != 0;
    if (same_process && old->route != route) {  // the same process on a new connection
      routes_.erase(old->route);
      old->route = route;
      routes_[route] = old;
    }
    old->contender.clear();
    if (same_process) {
      old->last_seen_us = now_us;
      if (!old->alive) {  // back from a stall: same slots, routable again
        old->alive = true;
        old->last_heartbeat_us = now_us;
        scheduler_.refresh(old);
      }
      return old;
    }
    scheduler_.remove(old);
    routes_.erase(old->route);
  }
  if (WorkerEntry* other = find_route(route)) routes_.erase(other->route);  // a route names one worker
  auto w = std::make_unique<WorkerEntry>();
  if (info.threads > opts_.max_threads) {
    log()->warn("worker {} claims {} threads: capped at workers.max_threads = {}", info.id,
                info.threads, opts_.max_threads);
    info.threads = opts_.max_threads;
  }
  info.capacity = std::min(info.capacity, info.threads);
  w->info = std::move(info);
  w->route = route;
  w->pool = pool;
  do w->token = rng_(); while (w->token == 0);
  w->capacity = w->capacity_for(opts_.prefetch);
  w->joined_us = w->last_seen_us = w->last_heartbeat_us = now_us;
  w->heartbeat.info = w->info;
  WorkerEntry* raw = w.get();
  workers_.insert_or_assign(raw->info.id, std::move(w));
  routes_[std::move(route)] = raw;
  scheduler_.refresh(raw);
  return raw;
}

bool WorkerRegistry::release(WorkerEntry* w, uint64_t d, uint64_t run_us) {
  if (!scheduler_.returned(w, d)) return false;
  // An answer: the worker is working. Its heartbeats (another connection)
  // may say it runs nothing while the broker still has its answers to read
  // (a backlog on a busy broker): "holds tasks but runs none" needs a
  // liveness window of idle heartbeats with no answer read at all.
  w->idle_since_us = 0;
  // Moving average over roughly the last 16 tasks.
  double run = static_cast<double>(run_us);
  w->avg_run_us = w->avg_run_us <= 0 ? run : w->avg_run_us + (run - w->avg_run_us) / 16;
  uint32_t cap = w->capacity_for(opts_.prefetch);
  if (cap != w->capacity) {
    scheduler_.remove(w);  // the index key includes the capacity
    w->capacity = cap;
    scheduler_.refresh(w);
  }
  return true;
}

void WorkerRegistry::mark_dead(WorkerEntry* w, uint64_t now_us, bool free_slots) {
  scheduler_.remove(w);
  w->alive = false;
  w->died_us = now_us;
  if (free_slots) w->ledger.clear();
}

WorkerEntry* WorkerRegistry::find_local(int64_t pid, const std::string& host) {
  for (auto& [id, w] : workers_) {
    if (w->alive && w->info.pid == pid && w->info.host == host) return w.get();
  }
  return nullptr;
}

void WorkerRegistry::set_retiring(WorkerEntry* w, bool retiring) {
  w->retiring = retiring;
  scheduler_.refresh(w);
}

void WorkerRegistry::stopping(WorkerEntry* w) {
  w->stopping = true;
  scheduler_.refresh(w);
}

HeartbeatFrom WorkerRegistry::heartbeat(common::Heartbeat hb, uint64_t now_us) {
  WorkerEntry* w = find(hb.info.id);
  if (!w || !w->alive) return HeartbeatFrom::unknown;
  if (hb.token != w->token) return HeartbeatFrom::forged;  // or from before its WELCOME
  w->last_seen_us = w->last_heartbeat_us = now_us;
  const bool idle = hb.active == 0 && hb.queued == 0;
  if (!idle || w->inflight() == 0) {
    w->idle_since_us = 0;
  } else if (w->idle_since_us == 0) {
    w->idle_since_us = now_us;
  }
  w->heartbeat = std::move(hb);
  return HeartbeatFrom::worker;
}

std::vector<WorkerRegistry::Overdue> WorkerRegistry::overdue(uint64_t now_us) {
  std::erase_if(resync_sent_,
                [&](const auto& kv) { return now_us - kv.second > opts_.liveness_us * 4; });
  std::vector<Overdue> out;
  for (auto it = workers_.begin(); it != workers_.end();) {
    WorkerEntry* w = it->second.get();
    if (w->alive && now_us > w->last_seen_us && now_us - w->last_seen_us > opts_.liveness_us) {
      out.push_back({w, "no heartbeat"});
    } else if (w->alive && w->inflight() > 0 && w->idle_since_us != 0 &&
               now_us - w->idle_since_us > opts_.liveness_us) {
      w->idle_since_us = 0;
      out.push_back({w, "unhealthy: holds tasks but runs none"});
    }
    if (!w->alive && now_us > w->died_us && now_us - w->died_us > opts_.dead_retention_us) {
      auto route = routes_.find(w->route);
      if (route != routes_.end() && route->second == w) routes_.erase(route);
      it = workers_.erase(it);
      continue;
    }
    ++it;
  }
  return out;
}

uint64_t WorkerRegistry::next_deadline_us() const {
  uint64_t due = UINT64_MAX;
  for (const auto& [id, w] : workers_) {
    if (w->alive) {
      due = std::min(due, w->last_seen_us + opts_.liveness_us + 1);
      if (w->inflight() > 0 && w->idle_since_us != 0) due = std::min(due, w->idle_since_us + opts_.liveness_us + 1);
    } else {
      due = std::min(due, w->died_us + opts_.dead_retention_us + 1);
    }
  }
  return due;
}

bool WorkerRegistry::may_resync(const std::string& route, uint64_t now_us) {
  uint64_t& last = resync_sent_[route];
  if (last != 0 && now_us - last < opts_.resync_interval_us) return false;
  last = now_us;
  return true;
}

std::vector<std::string> WorkerRegistry::alive_routes() const {
  std::vector<std::string> routes;
  for (const auto& [id, w] : workers_) {
    if (w->alive) routes.push_back(w->route);
  }
  return routes;
}

std::vector<BoardEntry> WorkerRegistry::board() const {
  std::vector<BoardEntry> entries;
  entries.reserve(workers_.size());
  for (const auto& [id, w] : workers_) {
    BoardEntry e;
    auto& s = e.status;
    s.id = id;
    s.type = w->info.pool;
    s.host = w->info.host;
    s.pid = w->info.pid;
    s.threads = w->info.threads;
    s.active = w->heartbeat.active;
    s.inflight = w->inflight();
    s.capacity = w->capacity;
    s.done = w->done;
    s.failed = w->failed;
    s.alive = w->alive;
    s.rss_bytes = w->heartbeat.rss_bytes;
    e.heartbeat_us = w->last_heartbeat_us;
    e.leaving = w->stopping || w->retiring;
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace zfleet::broker
