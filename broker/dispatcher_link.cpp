// Dispatcher: the worker side. READY, RESULT, BYE and GONE on the backend,
// heartbeats on the status SUB, liveness, and what is sent to workers.
#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include "common/clock.h"
#include "common/log.h"

namespace zfleet::broker {

bool Dispatcher::send_to_worker(const std::string& rid, common::Frames frames) {
  frames.insert(frames.begin(), zmq::message_t(rid.data(), rid.size()));
  return common::send_frames(backend_, frames);
}

bool Dispatcher::send_task(WorkerEntry& w, const Task& t, uint64_t d) {
  auto frames = common::encode_task(t.id, d, t.attempts, t.timeout_ms, t.payload);
  frames.insert(frames.begin(), zmq::message_t(w.route.data(), w.route.size()));
  return common::send_frames(backend_, frames);
}

void Dispatcher::send_cancel(WorkerEntry& w, uint64_t d) {
  send_to_worker(w.route, common::encode_cancel(d));
}

void Dispatcher::on_backend() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(backend_, msg_, zmq::recv_flags::dontwait)) return;
    auto& f = msg_.frames;
    if (f.size() < 2 || msg_.truncated()) {  // not our protocol: drop
      st_.metrics.invalid_on(Endpoint::backend);
      continue;
    }
    std::string rid(common::view(f[0]));
    auto cmd = common::link_command(f[1]);
    if (!cmd) {
      st_.metrics.invalid_on(Endpoint::backend);
      continue;
    }
    on_worker_message(rid, *cmd, f);
  }
}

void Dispatcher::on_worker_message(const std::string& rid, common::LinkCmd cmd,
                                   const common::Frames& f) {
  if (cmd == common::LinkCmd::ready) return on_ready(rid, f);
  WorkerEntry* w = registry_.find_route(rid);
  if (!w) {
    // A pool thread's own results socket (thread_pool.h): RESULT only, and
    // never answered on that connection (no RESYNC either: the worker's
    // own connection carries that).
    if (auto owner = common::result_route_owner(rid)) {
      WorkerEntry* of = registry_.find_route(*owner);
      if (cmd != common::LinkCmd::result) {
        st_.metrics.invalid_on(Endpoint::backend);
      } else if (of && of->alive) {
        const uint64_t now = common::now_us();
        registry_.seen(of, now);
        on_result(of, f, now);
      }
      return;
    }
  }
  if (!w || !w->alive) {
    // Unknown (broker restarted) or declared dead (was hung): what it ran
    // was requeued or failed; ask it to register afresh.
    return maybe_resync(rid);
  }
  const uint64_t now = common::now_us();
  registry_.seen(w, now);
  switch (cmd) {
    case common::LinkCmd::result:
      return on_result(w, f, now);
    case common::LinkCmd::returned: {
      auto d = common::decode_return(f, 1);
      if (d) return lifecycle_.returned(w, *d, now);
      st_.metrics.invalid_on(Endpoint::backend);
      return;
    }
    case common::LinkCmd::gone:
      lifecycle_.worker_lost(w, "exiting", now, /*exiting=*/true);
      send_to_worker(rid, common::encode_simple(common::LinkCmd::gone_ack));
      return;
    case common::LinkCmd::bye:
      log()->info("worker {} is stopping", w->info.id);
      registry_.stopping(w);
      // Every TASK sent to it so far is ahead of this on the pipe: once the
      // worker reads the ack, no task can still be on its way.
      send_to_worker(rid, common::encode_simple(common::LinkCmd::bye_ack));
      return;
    default:
      return;
  }
}

void Dispatcher::on_result(WorkerEntry* w, const common::Frames& f, uint64_t now) {
  auto r = common::decode_result(f, 1);
  if (!r) {
    st_.metrics.invalid_on(Endpoint::backend);
    log()->warn("bad RESULT from {}: {}", w->info.id, r.error());
    return;
  }
  lifecycle_.on_result(w, std::move(*r), now);
}

// A READY binds its worker id to the connection it came on (`rid`). Under
// the id of a live worker on another connection it is refused while that
// connection still takes messages: an impostor cannot take a worker's id or
// tasks. A restarted worker (its old connection gone) is let in at once.
void Dispatcher::on_ready(const std::string& rid, const common::Frames& frames) {
  auto info = common::decode_ready(frames, 1);
  if (!info) {
    st_.metrics.invalid_on(Endpoint::backend);
    log()->debug("bad READY: {}", info.error());  // garbage: debug only (a flood would fill the log)
    return;
  }
  const auto pool = st_.pools.find(info->pool);
  if (!pool) return refuse(rid, *info);
  const uint64_t now = common::now_us();
  WorkerEntry* old = registry_.find(info->id);
  if (old && old->alive && old->route != rid &&
      send_to_worker(old->route, common::encode_simple(common::LinkCmd::resync))) {
    // The old connection is there (a live worker answers the RESYNC with a
    // READY of its own, which changes nothing): refuse, but remember where
    // the newcomer is, to tell it to register once the old one is gone.
    if (old->contender.empty()) log()->warn("refused a READY under worker {}'s id from another connection", info->id);
    old->contender = rid;
    return;
  }
  const bool same_process = old && old->info.incarnation == info->incarnation && info->incarnation != 0;
  if (old && old->alive && !same_process) {
    // A new process under the same id: whatever the old one held is gone.
    lifecycle_.worker_lost(old, "restarted", now, /*exiting=*/true);
  }
  const bool was_alive = old && old->alive && same_process;
  WorkerEntry* w = registry_.join(std::move(*info), rid, now, *pool);
  // Its silence is watched from now on (the poll's only worker timer).
  liveness_deadline_us_ = registry_.next_deadline_us();
  // Every READY is answered, so a worker that missed a WELCOME gets it again.
  send_to_worker(rid, common::encode_welcome(w->token));
  if (was_alive) return;  // a repeated READY (it answered several RESYNCs)
  log()->info("worker {} {}: pool {}, {} threads, pid {}, host {}", w->info.id,
              same_process ? "is back" : "joined", w->info.pool,
              w->info.threads, w->info.pid, w->info.host);
}

// A worker of a pool this broker does not have would wait for tasks that
// never come (and its tasks would go nowhere): it is told why, and exits.
void Dispatcher::refuse(const std::string& rid, const common::WorkerInfo& info) {
  const std::string why = "pool '" + info.pool + "' is not configured on this broker (pools: " +
                          st_.pools.list() + "; add it under workers.pools)";
  // Once per worker id and pool: a worker retrying, or a flood, is not a log line each time.
  if (refused_.size() < kMaxRefusedRemembered && refused_.insert(info.id + '\0' + info.pool).second)
    log()->warn("refused worker {} (host {}, pid {}): {}", info.id, info.host, info.pid, why);
  send_to_worker(rid, common::encode_refuse(why));
}

void Dispatcher::on_status() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(status_, msg_, zmq::recv_flags::dontwait)) return;
    if (msg_.truncated()) {
      st_.metrics.invalid_on(Endpoint::status);
      continue;
    }
    auto hb = common::decode_heartbeat(msg_.frames);
    if (!hb) {
      st_.metrics.invalid_on(Endpoint::status);
      continue;
    }
    // A worker we do not know as alive missed our restart or was declared
    // dead while hung: make it register again (at the route its heartbeat
    // names, or the one a refused READY came on). A forged one changes
    // nothing: at most a live worker repeats its READY.
    std::string route = hb->info.route;
    const WorkerEntry* known = registry_.find(hb->info.id);
    if (known && !known->contender.empty()) route = known->contender;
    if (registry_.heartbeat(std::move(*hb), common::now_us()) == HeartbeatFrom::unknown && !route.empty())
      maybe_resync(route);
  }
}

void Dispatcher::maybe_resync(const std::string& rid) {
  if (!registry_.may_resync(rid, common::now_us())) return;
  // A forged heartbeat may name any id: one with no backend connection
  // cannot be told anything, and is not remembered either (a flood of
  // made-up ids would otherwise each hold an entry for 4 liveness windows).
  if (!send_to_worker(rid, common::encode_simple(common::LinkCmd::resync))) registry_.forget_resync(rid);
}

void Dispatcher::check_liveness(uint64_t now) {
  for (const auto& o : registry_.overdue(now)) lifecycle_.worker_lost(o.worker, o.why, now, false);
}

void Dispatcher::broadcast_clear(const common::Frames& clear) {
  for (const std::string& route : registry_.alive_routes()) {
    common::Frames copy;
    for (const auto& f : clear) copy.emplace_back(f.data(), f.size());
    send_to_worker(route, std::move(copy));
  }
}

}  // namespace zfleet::broker
