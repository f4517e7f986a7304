// Dispatcher: the in-process side. Task batches from intake, control
// commands (CLEAR, CANCEL, DRAIN, STOP), durability reports from the
// journal thread, and notices to the result services, whether those run on
// threads of their own (inproc sockets) or on this thread (InlineClients:
// plain calls).
#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include "broker/journal/writer.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/log.h"
#include "common/sockets.h"

namespace zfleet::broker {

// Called by an Intake on this thread (inline) or for a batch from an
// intake thread. Either way a failure here is the dispatcher's, never a
// bad request: the tasks are in the live table already, so it ends the
// process (DESIGN decision 9) rather than being answered as an error.
void Dispatcher::take_tasks(const std::vector<Task*>& batch, std::optional<AckRequest> ack) {
  try {
    common::fault_point("broker-dispatch");  // a test hook: once per hand-off
    const uint64_t now = common::now_us();
    for (Task* t : batch) lifecycle_.accept(t, now);
    if (ack) journal_.ack(ack->intake, ack->token);
  } catch (const std::exception& e) {
    common::die(log(), std::string("dispatcher stopped: ") + e.what());
  }
}

void Dispatcher::on_intake() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(intake_, msg_, zmq::recv_flags::dontwait)) return;
    if (msg_.frames.empty()) continue;
    std::optional<AckRequest> ack;
    if (msg_.frames.size() > 1) ack = unpack_ack_request(msg_.frames[1]);
    take_tasks(unpack_tasks(msg_.frames[0]), ack);
  }
}

void Dispatcher::clear_scripts(common::Frames clear) { broadcast_clear(clear); }

void Dispatcher::request_cancel(const CancelRequest& req) {
  finisher_.cancel_reply(req.thread, req.token, lifecycle_.cancel(req.id, common::now_us()));
}

// A durability report: [highest durable sequence][ack blob]...; results
// waiting for it are published and each intake gets its tokens.
void Dispatcher::on_durable() {
  const uint64_t now = common::now_us();
  const std::size_t intakes = clients_ ? 1 : intake_acks_.size();
  for (int n = 0; n < kBurst; ++n) {
    auto report = journal::recv_report(journal_in_, zmq::recv_flags::dontwait);
    if (!report) return;
    const uint64_t seq = report->sequence;
    journal_.durable(seq);
    finisher_.on_durable(seq, now);
    std::vector<std::string> tokens(intakes);
    for (const auto& ack : report->acks) {
      TaskJournal::for_each_ack(common::view(ack), [&](uint32_t intake, uint64_t token) {
        if (intake < tokens.size()) tokens[intake].append(reinterpret_cast<const char*>(&token), sizeof token);
      });
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].empty()) continue;
      zmq::message_t m(tokens[i].data(), tokens[i].size());
      if (clients_) {
        clients_->intake().acked_all(m);
      } else {
        intake_acks_[i].send(m, zmq::send_flags::dontwait);
      }
    }
  }
}

void Dispatcher::on_control() {
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(control_, msg_, zmq::recv_flags::dontwait)) return;
    auto& f = msg_.frames;
    if (f.empty()) continue;
    std::string_view cmd = common::view(f[0]);
    if (cmd == kStopCommand) {
      stopping();
      return;
    }
    if (cmd == kDrainCommand) {
      // Workers finish what they run; queued tasks keep being dispatched.
      log()->info("draining: {} queued, {} running, {} delayed or waiting for a retry",
                  lifecycle_.queued(), lifecycle_.running(),
                  lifecycle_.timed() - lifecycle_.running());
    } else if (cmd == kRetireCommand || cmd == kKeepCommand) {
      if (auto pid = decode_retire_pid(f)) retire(*pid, cmd == kRetireCommand);
    } else if (cmd == kCancelCommand) {
      if (auto req = decode_cancel_request(f)) request_cancel(*req);
    } else if (common::link_command(f[0]) == common::LinkCmd::clear) {
      common::Frames frames;
      for (auto& fr : f) frames.push_back(std::move(fr));
      clear_scripts(std::move(frames));
    }
  }
}

// A scale-down's drain (issue 15): the worker gets no new task; the ones it
// holds (running and prefetched) finish, and then it is told to STOP
// (stop_retired), so nothing is interrupted or retried. KEEP (the pool got
// busy again) puts it back into the scheduler unless STOP has gone.
void Dispatcher::retire(int64_t pid, bool retire) {
  WorkerEntry* w = registry_.find_local(pid, local_host_);
  if (!w) {
    log()->info("scale-down: no live local worker with pid {} (it may have just left)", pid);
    return;
  }
  if (!retire && w->stop_sent) {
    log()->info("scale-down of worker {} not cancelled: it was already told to stop", w->info.id);
    return;
  }
  registry_.set_retiring(w, retire);
  log()->info("worker {} {} ({} tasks in flight)", w->info.id,
              retire ? "retiring for a scale-down: no new tasks" : "kept: scale-down cancelled", w->inflight());
  if (retire) retiring_.insert(w->info.id);
}

void Dispatcher::stop_retired() {
  for (auto it = retiring_.begin(); it != retiring_.end();) {
    WorkerEntry* w = registry_.find(*it);
    if (!w || !w->alive || !w->retiring) {
      it = retiring_.erase(it);
      continue;
    }
    if (w->inflight() == 0 && !w->stop_sent) {
      w->stop_sent = true;
      log()->info("worker {} holds no task: telling it to stop (scale-down)", w->info.id);
      send_to_worker(w->route, common::encode_simple(common::LinkCmd::stop));
      it = retiring_.erase(it);
      continue;
    }
    ++it;
  }
}

void Dispatcher::send_notices() {
  auto& notices = finisher_.notices();
  for (std::size_t i = 0; i < notices.size(); ++i) {
    if (notices[i].empty()) continue;
    Notice notice = std::move(notices[i]);
    notices[i] = Notice{};
    if (clients_) {
      clients_->service().take_notice(std::move(notice));
      continue;
    }
    zmq::message_t m = pack_notice(std::move(notice));
    notify_[i].send(m, zmq::send_flags::dontwait);  // no high-water mark: never refused
  }
}

}  // namespace zfleet::broker
