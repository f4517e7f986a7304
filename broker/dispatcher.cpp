#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "broker/backend_socket.h"
#include "broker/journal/writer.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/socket_poller.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::broker {
namespace {

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
      lifecycle_(finisher_, registry_, *this, lifecycle_options(state.config)),
      local_host_(common::this_host_name()) {}

Dispatcher::~Dispatcher() { join(); }

void Dispatcher::start() {
  thread_ = common::start_after_setup("zf-dispatch", [this] { bind_sockets(); }, [this] { run(); });
}

void Dispatcher::join() {
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::bind_sockets() {
  const auto& b = st_.config.broker;
  backend_ = bind_backend_router(st_.ctx, b, st_.curve_for("backend"));

  common::SocketOptions sub_opts;
  sub_opts.rcvhwm = b.worker_hwm;  // per publisher: PUB drops what does not fit
  sub_opts.tcp_keepalive = true;
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
  const bool inline_clients = serves_clients_inline(st_.config.broker);
  for (int i = 0; i < st_.config.broker.result_threads && !inline_clients; ++i) {
    notify_.push_back(common::make_socket(st_.ctx, zmq::socket_type::push, inproc_opts));
    notify_.back().connect(notify_endpoint(static_cast<unsigned>(i)));
  }
  if (journal_.enabled()) {
    journal_out_ = common::make_socket(st_.ctx, zmq::socket_type::push, inproc_opts);
    journal_out_.connect(kJournalIn);
    journal_in_ = common::make_socket(st_.ctx, zmq::socket_type::pull, inproc_opts);
    journal_in_.bind(kJournalDurable);
  }
  if (inline_clients) {
    // Last: the frontend takes tasks only once everything above is ready.
    clients_ = std::make_unique<InlineClients>(st_, static_cast<TaskSink&>(*this), static_cast<ControlSink&>(*this));
    clients_->bind();
    return;
  }
  for (int i = 0; i < st_.config.broker.queue_threads && journal_.enabled(); ++i) {
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
  if (clients_) clients_->close();
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
  uint64_t next = std::min(lifecycle_.next_timer_us(), liveness_deadline_us_);
  if (clients_) {
    const uint64_t wait = clients_->service().wait_us(now_us);
    if (wait != UINT64_MAX) next = std::min(next, now_us + wait);
  }
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
  // One entry per socket in use. A poll(2) on their ZMQ_FDs, not zmq_poll:
  // see common/socket_poller.h for the system calls that saves and the rule
  // it asks of this loop (mark what was read from or sent on).
  common::SocketPoller poller;
  std::vector<Source> sources;
  auto watch = [&](zmq::socket_t& s, Source src) {
    sources.push_back(src);
    return poller.add(s);
  };
  // Sockets this thread also sends on. The backend sends nearly every turn
  // under load and is always marked; a public socket only when a reply went.
  struct Sender {
    std::size_t at;
    std::function<uint64_t()> replies;  // empty: always marked
    uint64_t seen = 0;
  };
  std::vector<Sender> senders;
  // Heartbeats last: the liveness check in pass() judges workers by them,
  // so they are read after whatever else took this turn's time.
  if (journal_.enabled()) watch(journal_in_, Source::durable);
  const std::size_t control_at = watch(control_, Source::control);
  if (clients_) {
    senders.push_back({watch(clients_->results(), Source::results), [this] { return clients_->results_replies(); }});
    senders.push_back({watch(clients_->frontend(), Source::frontend), [this] { return clients_->frontend_replies(); }});
  } else {
    watch(intake_, Source::intake);
  }
  senders.push_back({watch(backend_, Source::backend), {}});
  watch(status_, Source::status);
  while (!stop_) {
    for (std::size_t i : poller.wait(poll_timeout_ms(common::now_us()))) {
      if (stop_) break;
      on_readable(sources[i]);
      poller.touched(i);  // read up to a cap: more may be queued
      if (sources[i] == Source::intake) poller.touched(control_at);  // on_readable read it too
    }
    pass(common::now_us());
    for (auto& s : senders) {  // a send may have taken the fd's signal
      const uint64_t n = s.replies ? s.replies() : s.seen + 1;
      if (n != s.seen) poller.touched(s.at);
      s.seen = n;
    }
  }
}

void Dispatcher::on_readable(Source source) {
  switch (source) {
    case Source::control: return on_control();
    case Source::backend: return on_backend();
    case Source::intake:
      on_intake();
      // A task read just now may have been submitted after a clear_cache
      // was acknowledged: that CLEAR is already on the control pipe, and
      // must go out before the task does.
      return on_control();
    case Source::status: return on_status();
    case Source::durable: return on_durable();
    case Source::results: return clients_->on_results(msg_, kBurst);
    case Source::frontend: return clients_->on_frontend(msg_, kBurst);
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
  if (!retiring_.empty()) stop_retired();
  if (now >= next_board_us_) {
    st_.board.publish(registry_.board());
    for (common::PoolId p = 0; p < static_cast<common::PoolId>(st_.pools.size()); ++p)
      st_.metrics.pool[p].oldest_queued_us.store(lifecycle_.oldest_queued_us(p), std::memory_order_relaxed);
    next_board_us_ = now + kBoardIntervalUs;
  }
  flush_journal();  // this pass's records, before anything waits on them
  send_notices();  // after everything above that may have finished tasks
  if (clients_) clients_->service().on_timers();
  if (now >= next_sweep_us_) {
    // Results nobody fetched leave at their TTL even when no put evicts them.
    st_.cache.sweep_expired(now / 1000);
    next_sweep_us_ = now + kSweepIntervalUs;
  }
}

void Dispatcher::flush_journal() {
  auto batch = journal_.take();
  if (!batch) return;
  journal::send_batch(journal_out_, std::move(batch->records), batch->last_seq,
                      batch->acks.empty() ? std::nullopt : std::optional<std::string_view>(batch->acks));
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

}  // namespace zfleet::broker
