// Dispatcher: the worker side. Registration (READY), results, BYE,
// heartbeats, liveness, and the snapshot that `status` reads.
#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include "broker/handoff.h"
#include "common/clock.h"
#include "common/log.h"

namespace zfleet::broker {
namespace {

constexpr int kBurst = 256;

}  // namespace

WorkerEntry* Dispatcher::find_worker(const std::string& id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

void Dispatcher::send_to_worker(const std::string& rid, common::Frames frames) {
  frames.insert(frames.begin(), zmq::message_t(rid.data(), rid.size()));
  common::send_frames(backend_, frames);
}

void Dispatcher::on_backend() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(backend_, msg_, zmq::recv_flags::dontwait)) return;
    auto& f = msg_.frames;
    if (f.size() < 2 || msg_.truncated()) continue;  // not our protocol: drop
    std::string rid(common::view(f[0]));
    auto cmd = common::link_command(f[1]);
    if (!cmd) continue;
    if (*cmd == common::LinkCmd::ready) {
      on_ready(rid, f);
      continue;
    }
    WorkerEntry* w = find_worker(rid);
    if (!w || !w->alive) {
      // Unknown (broker restarted) or declared dead (was hung): its results
      // were already requeued or failed; ask it to register afresh.
      maybe_resync(rid);
      continue;
    }
    w->last_seen_us = common::now_us();
    if (*cmd == common::LinkCmd::result) {
      on_result(w, f);
    } else if (*cmd == common::LinkCmd::gone) {
      worker_lost(w, "exiting");
      send_to_worker(rid, common::encode_simple(common::LinkCmd::gone_ack));
    } else if (*cmd == common::LinkCmd::bye) {
      log()->info("worker {} is stopping", rid);
      w->stopping = true;
      scheduler_.refresh(w);
      // Every TASK sent to it so far is ahead of this on the pipe: once the
      // worker reads the ack, no task can still be on its way.
      send_to_worker(rid, common::encode_simple(common::LinkCmd::bye_ack));
    }
  }
}

void Dispatcher::on_ready(const std::string& rid, const common::Frames& frames) {
  auto info = common::decode_ready(frames, 1);
  if (!info || info->id != rid) {
    log()->warn("bad READY from {}: {}", rid, info ? "id mismatch" : info.error());
    return;
  }
  if (WorkerEntry* old = find_worker(rid)) {
    bool same_process = old->info.incarnation == info->incarnation && info->incarnation != 0;
    if (same_process && old->alive) {
      // A repeated READY (it answered several RESYNCs): nothing changed.
      old->last_seen_us = common::now_us();
      return;
    }
    // A new process under the same id: whatever the old one held is gone.
    if (!same_process && old->alive) worker_lost(old, "restarted");
  }
  auto w = std::make_unique<WorkerEntry>();
  uint64_t now = common::now_us();
  w->info = std::move(*info);
  w->capacity = w->capacity_for(prefetch_);
  w->joined_us = w->last_seen_us = w->last_heartbeat_us = now;
  w->heartbeat.info = w->info;
  log()->info("worker {} joined: type {}, {} threads, pid {}, host {}", rid,
              common::to_string(w->info.type), w->info.threads, w->info.pid, w->info.host);
  WorkerEntry* raw = w.get();
  if (auto it = workers_.find(rid); it != workers_.end()) {
    scheduler_.remove(it->second.get());
    it->second = std::move(w);
  } else {
    workers_.emplace(rid, std::move(w));
  }
  scheduler_.refresh(raw);
}

void Dispatcher::on_result(WorkerEntry* w, const common::Frames& frames) {
  auto r = common::decode_result(frames, 1);
  if (!r) {
    log()->warn("bad RESULT from {}: {}", w->info.id, r.error());
    return;
  }
  Task* t = scheduler_.returned(w, r->id);
  if (!t) return;  // not in flight there: a late or duplicate answer
  r->ok ? ++w->done : ++w->failed;
  update_capacity(w, r->run_us);
  if (t->timed_out) {  // already failed with `timeout`; only the slot was held
    delete t;
    return;
  }
  Metrics::sub(st_.metrics.running);
  if (r->ok && r->result.size() > st_.config.broker.max_message_bytes) {
    r->ok = false;
    r->error = {common::TaskErrorCode::unserializable_result,
                "result of " + std::to_string(r->result.size()) +
                    " bytes is over broker.max_message_bytes",
                "", ""};
    r->result.clear();
  }
  common::ResultRecord rec;
  rec.state = r->ok ? common::TaskState::done : common::TaskState::failed;
  rec.result = std::move(r->result);
  rec.error = std::move(r->error);
  rec.worker = w->info.id;
  rec.run_us = r->run_us;
  finish(t, std::move(rec));
}

void Dispatcher::update_capacity(WorkerEntry* w, uint64_t run_us) {
  // Moving average over roughly the last 16 tasks.
  double run = static_cast<double>(run_us);
  w->avg_run_us = w->avg_run_us <= 0 ? run : w->avg_run_us + (run - w->avg_run_us) / 16;
  uint32_t cap = w->capacity_for(prefetch_);
  if (cap == w->capacity) return;
  scheduler_.remove(w);  // the index key includes the capacity
  w->capacity = cap;
  scheduler_.refresh(w);
}

void Dispatcher::worker_lost(WorkerEntry* w, const char* why) {
  log()->warn("worker {} lost ({}): {} tasks in flight", w->info.id, why, w->inflight());
  scheduler_.remove(w);
  w->alive = false;
  w->died_us = common::now_us();
  for (auto& [id, t] : w->ledger) {
    if (t->timed_out) {
      delete t;
      continue;
    }
    Metrics::sub(st_.metrics.running);
    if (t->attempts > t->max_retries) {
      common::ResultRecord rec;
      rec.state = common::TaskState::failed;
      rec.error.code = common::TaskErrorCode::worker_lost;
      rec.error.message = "worker " + w->info.id + " was lost after " +
                          std::to_string(t->attempts) + " attempt(s)";
      rec.worker = w->info.id;
      finish(t, std::move(rec));
    } else {
      Metrics::add(st_.metrics.retried);
      st_.live.set_state(t, common::TaskState::pending);
      enqueue(t, /*at_head=*/true);
    }
  }
  w->ledger.clear();
}

void Dispatcher::on_status() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(status_, msg_, zmq::recv_flags::dontwait)) return;
    if (msg_.truncated()) continue;
    auto hb = common::decode_heartbeat(msg_.frames);
    if (!hb) continue;
    WorkerEntry* w = find_worker(hb->info.id);
    if (!w || !w->alive) {
      // A worker we do not know is alive: it missed our restart or was
      // declared dead while hung. Make it register again.
      maybe_resync(hb->info.id);
      continue;
    }
    uint64_t now = common::now_us();
    w->last_seen_us = w->last_heartbeat_us = now;
    w->heartbeat = std::move(*hb);
  }
}

void Dispatcher::maybe_resync(const std::string& rid) {
  // One RESYNC per worker per heartbeat interval: a returning worker's
  // backlog of heartbeats and late results must not make it register again
  // for each of them.
  uint64_t now = common::now_us();
  uint64_t& last = resync_sent_[rid];
  if (last != 0 && now - last < uint64_t(st_.config.workers.heartbeat_ms) * 1000) return;
  last = now;
  send_to_worker(rid, common::encode_simple(common::LinkCmd::resync));
}

void Dispatcher::check_liveness(uint64_t now) {
  std::erase_if(resync_sent_, [&](const auto& kv) { return now - kv.second > liveness_us_ * 4; });
  for (auto it = workers_.begin(); it != workers_.end();) {
    WorkerEntry* w = it->second.get();
    if (w->alive && now - w->last_seen_us > liveness_us_) worker_lost(w, "no heartbeat");
    // died_us may be later than `now` (set during this very pass).
    if (!w->alive && now > w->died_us && now - w->died_us > dead_retention_us_) {
      it = workers_.erase(it);
      continue;
    }
    ++it;
  }
}

void Dispatcher::broadcast_clear(const common::Frames& clear) {
  for (auto& [id, w] : workers_) {
    if (!w->alive) continue;
    common::Frames copy;
    for (const auto& f : clear) copy.emplace_back(f.data(), f.size());
    send_to_worker(id, std::move(copy));
  }
}

void Dispatcher::publish_board(uint64_t now) {
  std::vector<BoardEntry> entries;
  entries.reserve(workers_.size());
  for (auto& [id, w] : workers_) {
    BoardEntry e;
    auto& s = e.status;
    s.id = id;
    s.type = std::string(common::to_string(w->info.type));
    s.host = w->info.host;
    s.pid = w->info.pid;
    s.threads = w->info.threads;
    s.active = w->heartbeat.active;
    s.inflight = w->inflight();
    s.done = w->done;
    s.failed = w->failed;
    s.alive = w->alive;
    s.rss_bytes = w->heartbeat.rss_bytes;
    e.heartbeat_us = w->last_heartbeat_us;
    entries.push_back(std::move(e));
  }
  st_.board.publish(std::move(entries));
}

}  // namespace zfleet::broker
