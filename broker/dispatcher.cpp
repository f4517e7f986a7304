#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include <algorithm>
#include <cstring>

#include "broker/journal/writer.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/log.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::broker {
namespace {

// How many messages one poll round takes from each source before looking
// at the others, so a flood on one socket cannot starve the rest.
constexpr int kBurst = 256;
constexpr uint64_t kBoardIntervalUs = 100'000;
constexpr uint64_t kSweepIntervalUs = 1'000'000;
// A heartbeat is a few hundred bytes; a bigger message on the status
// endpoint is not one, and libzmq drops its connection before reading it
// into memory (a SUB socket has no other size limit).
constexpr int64_t kMaxHeartbeatBytes = 64 * 1024;

RegistryOptions registry_options(const config::FleetConfig& c) {
  RegistryOptions o;
  o.prefetch = static_cast<uint32_t>(c.workers.prefetch);
  o.liveness_us = uint64_t(c.workers.heartbeat_ms) * c.workers.liveness * 1000;
  o.dead_retention_us = uint64_t(c.workers.heartbeat_ms) * 5 * 1000 + o.liveness_us;
  o.resync_interval_us = uint64_t(c.workers.heartbeat_ms) * 1000;
  o.max_threads = static_cast<uint32_t>(c.workers.max_threads);
  return o;
}

LifecycleOptions lifecycle_options(const config::FleetConfig& c) {
  LifecycleOptions o;
  o.max_retry_backoff_ms = c.broker.max_retry_backoff_ms;
  // A result is also a message from a worker: the smaller limit holds,
  // and the error names the key that set it.
  const bool own = c.broker.max_result_bytes <= c.broker.max_message_bytes;
  o.max_result_bytes = own ? c.broker.max_result_bytes : c.broker.max_message_bytes;
  o.result_limit_key = own ? "broker.max_result_bytes" : "broker.max_message_bytes";
  return o;
}

}  // namespace

Dispatcher::Dispatcher(BrokerState& state)
    : st_(state),
      registry_(registry_options(state.config)),
      journal_(state.config.broker.journal.enabled(), state.pools),
      finisher_(state, static_cast<std::size_t>(state.config.broker.result_threads), journal_),
      lifecycle_(finisher_, registry_, *this, lifecycle_options(state.config)) {}

Dispatcher::~Dispatcher() { join(); }

void Dispatcher::start() {
  thread_ = common::start_after_setup("zf-dispatch", [this] { bind_sockets(); }, [this] { run(); });
}

void Dispatcher::join() {
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::bind_sockets() {
  const auto& b = st_.config.broker;
  common::SocketOptions backend_opts;
  backend_opts.router_mandatory = true;  // a send to a vanished worker must fail, not vanish
  backend_opts.router_handover = true;
  // ROUTER_HANDOVER: without it libzmq parks a second connection under a
  // routing id in use as a pipe it never reads or frees (a peer reconnecting
  // under a worker's id in a loop grew the broker ~10 MiB a cycle). Taking
  // over a worker's connection would need its routing id, which is random
  // per process (WorkerInfo::route); a worker id is bound to the route its
  // READY came on (dispatcher_link.cpp on_ready), so claiming the id from
  // another connection gets nothing.
  backend_opts.zmtp_heartbeat_ms = 1000;
  // Per worker connection. An honest worker never comes near it (its
  // tasks are bounded by its capacity, validate.cpp); a peer that never
  // reads stops costing memory there: past it a TASK fails (the worker is
  // lost, its tasks requeued) and other messages are dropped. Inbound, a
  // full pipe pushes back on the sender through TCP: nothing is dropped.
  backend_opts.sndhwm = b.worker_hwm;
  backend_opts.rcvhwm = b.worker_hwm;
  backend_opts.max_message_bytes = static_cast<int64_t>(b.max_message_bytes) * 2 + 65536;
  backend_opts.curve = st_.curve_for("backend");
  backend_ = common::make_socket(st_.ctx, zmq::socket_type::router, backend_opts);
  common::bind_socket(backend_, b.backend);

  common::SocketOptions sub_opts;
  sub_opts.rcvhwm = b.worker_hwm;  // per publisher: PUB drops what does not fit
  sub_opts.max_message_bytes = kMaxHeartbeatBytes;
  sub_opts.curve = st_.curve_for("status");
  status_ = common::make_socket(st_.ctx, zmq::socket_type::sub, sub_opts);
  status_.set(zmq::sockopt::subscribe, "hb");
  common::bind_socket(status_, b.status);

  const auto inproc_opts = common::unbounded_options();  // hand-offs carry owned pointers
  intake_ = common::make_socket(st_.ctx, zmq::socket_type::pull, inproc_opts);
  intake_.bind(kDispatchEndpoint);
  control_ = common::make_socket(st_.ctx, zmq::socket_type::pull, inproc_opts);
  control_.bind(kControlEndpoint);
  for (int i = 0; i < st_.config.broker.result_threads; ++i) {
    notify_.push_back(common::make_socket(st_.ctx, zmq::socket_type::push, inproc_opts));
    notify_.back().connect(notify_endpoint(static_cast<unsigned>(i)));
  }
  if (!journal_.enabled()) return;
  journal_out_ = common::make_socket(st_.ctx, zmq::socket_type::push, inproc_opts);
  journal_out_.connect(kJournalIn);
  journal_in_ = common::make_socket(st_.ctx, zmq::socket_type::pull, inproc_opts);
  journal_in_.bind(kJournalDurable);
  for (int i = 0; i < st_.config.broker.queue_threads; ++i) {
    intake_acks_.push_back(common::make_socket(st_.ctx, zmq::socket_type::push, inproc_opts));
    intake_acks_.back().connect(intake_ack_endpoint(static_cast<unsigned>(i)));
  }
}

void Dispatcher::run() {
  try {
    loop();
  } catch (const zmq::error_t& e) {
    if (e.num() != ETERM) common::die(log(), std::string("dispatcher stopped: ") + e.what());
  } catch (const std::exception& e) {
    common::die(log(), std::string("dispatcher stopped: ") + e.what());
  }
  backend_.close();
  status_.close();
  intake_.close();
  control_.close();
  notify_.clear();
  if (journal_.enabled()) {
    journal_out_.close();
    journal_in_.close();
    intake_acks_.clear();
  }
}

// Only what must happen at a time of its own wakes the loop: a task's timer
// and a worker's liveness deadline. The board, the cache sweep and the
// periodic liveness pass ride on passes that happen anyway (a heartbeat, a
// request); an idle broker sleeps between heartbeats (issue 14).
long Dispatcher::poll_timeout_ms(uint64_t now_us) const {
  const uint64_t next = std::min(lifecycle_.next_timer_us(), liveness_deadline_us_);
  if (next == UINT64_MAX) return -1;
  if (next <= now_us) return 0;
  return static_cast<long>((next - now_us + 999) / 1000);
}

void Dispatcher::loop() {
  const uint64_t start = common::now_us();
  for (Task* t : adopted_) {
    lifecycle_.accept(t, start, /*journaled=*/true);
    if (t->pool_gone)
      lifecycle_.cancel(t->id, start, "cancelled at restart: its pool is no longer configured (pools: " +
                                          st_.pools.list() + ")");
  }
  adopted_.clear();
  zmq::pollitem_t items[] = {{control_.handle(), 0, ZMQ_POLLIN, 0},
                             {backend_.handle(), 0, ZMQ_POLLIN, 0},
                             {intake_.handle(), 0, ZMQ_POLLIN, 0},
                             {status_.handle(), 0, ZMQ_POLLIN, 0},
                             {journal_in_ ? journal_in_.handle() : nullptr, 0, ZMQ_POLLIN, 0}};
  const int n_items = journal_.enabled() ? 5 : 4;
  while (!stop_) {
    zmq::poll(items, n_items, std::chrono::milliseconds(poll_timeout_ms(common::now_us())));
    if (n_items == 5 && (items[4].revents & ZMQ_POLLIN)) on_durable();
    if (items[0].revents & ZMQ_POLLIN) on_control();
    if (items[1].revents & ZMQ_POLLIN) on_backend();
    if (items[2].revents & ZMQ_POLLIN) {
      on_intake();
      // A task read just now may have been submitted after a clear_cache
      // was acknowledged: that CLEAR is already on the control pipe, and
      // must go out before the task does.
      on_control();
    }
    if (items[3].revents & ZMQ_POLLIN) on_status();
    pass(common::now_us());
  }
}

// Everything that is due whatever woke the loop.
void Dispatcher::pass(uint64_t now) {
  lifecycle_.on_timers(now);
  if (now >= next_liveness_check_us_ || now >= liveness_deadline_us_) {
    check_liveness(now);
    next_liveness_check_us_ = now + uint64_t(st_.config.workers.heartbeat_ms) * 500;
    liveness_deadline_us_ = registry_.next_deadline_us();
    common::report_dropped_logs(*log());
  }
  lifecycle_.dispatch_ready(now);
  if (now >= next_board_us_) {
    st_.board.publish(registry_.board());
    next_board_us_ = now + kBoardIntervalUs;
  }
  flush_journal();  // this pass's records, before anything waits on them
  send_notices();  // after everything above that may have finished tasks
  if (now >= next_sweep_us_) {
    // Results nobody fetched leave at their TTL even when no put evicts them.
    st_.cache.sweep_expired(now / 1000);
    next_sweep_us_ = now + kSweepIntervalUs;
  }
}

void Dispatcher::on_intake() {
  const uint64_t now = common::now_us();
  for (int n = 0; n < kBurst; ++n) {
    if (!common::recv_message(intake_, msg_, zmq::recv_flags::dontwait)) return;
    common::fault_point("broker-dispatch");  // a test hook: once per hand-off
    if (msg_.frames.empty()) continue;
    for (Task* t : unpack_tasks(msg_.frames[0])) lifecycle_.accept(t, now);
    if (msg_.frames.size() > 1) {
      if (auto ack = unpack_ack_request(msg_.frames[1])) journal_.ack(ack->intake, ack->token);
    }
  }
}

void Dispatcher::flush_journal() {
  auto batch = journal_.take();
  if (!batch) return;
  journal::send_batch(journal_out_, std::move(batch->records), batch->last_seq,
                      batch->acks.empty() ? std::nullopt : std::optional<std::string_view>(batch->acks));
}

// A durability report: [highest durable sequence][ack blob]...; results
// waiting for it are published and each intake thread gets its tokens.
void Dispatcher::on_durable() {
  const uint64_t now = common::now_us();
  for (int n = 0; n < kBurst; ++n) {
    auto report = journal::recv_report(journal_in_, zmq::recv_flags::dontwait);
    if (!report) return;
    const uint64_t seq = report->sequence;
    journal_.durable(seq);
    finisher_.on_durable(seq, now);
    std::vector<std::string> tokens(intake_acks_.size());
    for (const auto& ack : report->acks) {
      TaskJournal::for_each_ack(common::view(ack), [&](uint32_t intake, uint64_t token) {
        if (intake < tokens.size()) tokens[intake].append(reinterpret_cast<const char*>(&token), sizeof token);
      });
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].empty()) continue;
      zmq::message_t m(tokens[i].data(), tokens[i].size());
      intake_acks_[i].send(m, zmq::send_flags::dontwait);
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
    } else if (cmd == kCancelCommand) {
      if (auto req = decode_cancel_request(f)) {
        finisher_.cancel_reply(req->thread, req->token, lifecycle_.cancel(req->id, common::now_us()));
      }
    } else if (common::link_command(f[0]) == common::LinkCmd::clear) {
      common::Frames frames;
      for (auto& fr : f) frames.push_back(std::move(fr));
      broadcast_clear(frames);
    }
  }
}

// A clean stop: tasks still queued or delayed are kept by the journal for
// the next start, or dropped without one (logged either way), and every
// parked get is answered `shutting_down` before the broker goes.
void Dispatcher::stopping() {
  const std::size_t queued = lifecycle_.queued();
  const std::size_t waiting = lifecycle_.timed() - lifecycle_.running();
  if (journal_.enabled()) {
    log()->info("stopping: {} queued and {} delayed or retrying tasks stay in the journal for the next start",
                queued, waiting);
  } else if (queued + waiting > 0) {
    log()->warn("stopping: dropping {} queued and {} delayed or retrying tasks (no broker.journal)",
                queued, waiting);
  }
  for (auto& notice : finisher_.notices()) notice.stopping = true;
  flush_journal();
  send_notices();
  stop_ = true;
}

void Dispatcher::send_notices() {
  auto& notices = finisher_.notices();
  for (std::size_t i = 0; i < notices.size(); ++i) {
    if (notices[i].empty()) continue;
    zmq::message_t m = pack_notice(std::move(notices[i]));
    notices[i] = Notice{};
    notify_[i].send(m, zmq::send_flags::dontwait);  // no high-water mark: never refused
  }
}

}  // namespace zfleet::broker
