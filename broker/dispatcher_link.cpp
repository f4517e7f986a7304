// Dispatcher: the worker side. READY, RESULT, BYE and GONE on the backend,
// heartbeats on the status SUB, liveness, and what is sent to workers.
#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include "common/clock.h"
#include "common/log.h"

namespace zfleet::broker {
namespace {

constexpr int kBurst = 256;

}  // namespace

void Dispatcher::send_to_worker(const std::string& rid, common::Frames frames) {
  frames.insert(frames.begin(), zmq::message_t(rid.data(), rid.size()));
  common::send_frames(backend_, frames);
}

bool Dispatcher::send_task(WorkerEntry& w, const Task& t, uint64_t d) {
  auto frames = common::encode_task(t.id, d, t.attempts, t.timeout_ms, t.payload);
  frames.insert(frames.begin(), zmq::message_t(w.info.id.data(), w.info.id.size()));
  return common::send_frames(backend_, frames);
}

void Dispatcher::send_cancel(WorkerEntry& w, uint64_t d) {
  send_to_worker(w.info.id, common::encode_cancel(d));
}

void Dispatcher::on_backend() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(backend_, msg_, zmq::recv_flags::dontwait)) return;
    auto& f = msg_.frames;
    if (f.size() < 2 || msg_.truncated()) continue;  // not our protocol: drop
    std::string rid(common::view(f[0]));
    auto cmd = common::link_command(f[1]);
    if (!cmd) continue;
    on_worker_message(rid, *cmd, f);
  }
}

void Dispatcher::on_worker_message(const std::string& rid, common::LinkCmd cmd,
                                   const common::Frames& f) {
  if (cmd == common::LinkCmd::ready) return on_ready(rid, f);
  WorkerEntry* w = registry_.find(rid);
  if (!w || !w->alive) {
    // Unknown (broker restarted) or declared dead (was hung): what it ran
    // was requeued or failed; ask it to register afresh.
    return maybe_resync(rid);
  }
  const uint64_t now = common::now_us();
  registry_.seen(w, now);
  switch (cmd) {
    case common::LinkCmd::result: {
      auto r = common::decode_result(f, 1);
      if (!r) {
        log()->warn("bad RESULT from {}: {}", rid, r.error());
        return;
      }
      return lifecycle_.on_result(w, std::move(*r), now);
    }
    case common::LinkCmd::gone:
      lifecycle_.worker_lost(w, "exiting", now, /*exiting=*/true);
      return send_to_worker(rid, common::encode_simple(common::LinkCmd::gone_ack));
    case common::LinkCmd::bye:
      log()->info("worker {} is stopping", rid);
      registry_.stopping(w);
      // Every TASK sent to it so far is ahead of this on the pipe: once the
      // worker reads the ack, no task can still be on its way.
      return send_to_worker(rid, common::encode_simple(common::LinkCmd::bye_ack));
    default:
      return;
  }
}

void Dispatcher::on_ready(const std::string& rid, const common::Frames& frames) {
  auto info = common::decode_ready(frames, 1);
  if (!info || info->id != rid) {
    log()->warn("bad READY from {}: {}", rid, info ? "id mismatch" : info.error());
    return;
  }
  const uint64_t now = common::now_us();
  WorkerEntry* old = registry_.find(rid);
  const bool same_process = old && old->info.incarnation == info->incarnation && info->incarnation != 0;
  if (old && old->alive && !same_process) {
    // A new process under the same id: whatever the old one held is gone.
    lifecycle_.worker_lost(old, "restarted", now, /*exiting=*/true);
  }
  const bool was_alive = old && old->alive && same_process;
  WorkerEntry* w = registry_.join(std::move(*info), now);
  // Every READY is answered, so a worker that missed a WELCOME gets it again.
  send_to_worker(rid, common::encode_welcome(w->token));
  if (was_alive) return;  // a repeated READY (it answered several RESYNCs)
  log()->info("worker {} {}: type {}, {} threads, pid {}, host {}", rid,
              same_process ? "is back" : "joined", common::to_string(w->info.type),
              w->info.threads, w->info.pid, w->info.host);
}

void Dispatcher::on_status() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(status_, msg_, zmq::recv_flags::dontwait)) return;
    if (msg_.truncated()) continue;
    auto hb = common::decode_heartbeat(msg_.frames);
    if (!hb) continue;
    std::string id = hb->info.id;
    // A worker we do not know as alive missed our restart or was declared
    // dead while hung: make it register again. A forged one changes nothing.
    if (registry_.heartbeat(std::move(*hb), common::now_us()) == HeartbeatFrom::unknown)
      maybe_resync(id);
  }
}

void Dispatcher::maybe_resync(const std::string& rid) {
  if (registry_.may_resync(rid, common::now_us()))
    send_to_worker(rid, common::encode_simple(common::LinkCmd::resync));
}

void Dispatcher::check_liveness(uint64_t now) {
  for (const auto& o : registry_.overdue(now)) lifecycle_.worker_lost(o.worker, o.why, now, false);
}

void Dispatcher::broadcast_clear(const common::Frames& clear) {
  for (const std::string& id : registry_.alive_ids()) {
    common::Frames copy;
    for (const auto& f : clear) copy.emplace_back(f.data(), f.size());
    send_to_worker(id, std::move(copy));
  }
}

}  // namespace zfleet::broker
