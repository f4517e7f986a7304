#include "broker/broker_log.h"
#include "broker/dispatcher.h"

#include "broker/handoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::broker {
namespace {

// How many messages one poll round takes from each source before looking
// at the others, so a flood on one socket cannot starve the rest.
constexpr int kBurst = 256;

// Task timeouts are found by scanning the in-flight ledgers this often. The
// ledgers hold at most the fleet's capacity, so a scan is cheap, and unlike
// a deadline heap it keeps no state for tasks that already finished.
constexpr uint64_t kDeadlineCheckUs = 10'000;

}  // namespace

Dispatcher::Dispatcher(BrokerState& state)
    : st_(state),
      prefetch_(static_cast<uint32_t>(state.config.workers.prefetch)),
      liveness_us_(uint64_t(state.config.workers.heartbeat_ms) * state.config.workers.liveness *
                   1000),
      dead_retention_us_(uint64_t(state.config.workers.heartbeat_ms) * 5 * 1000 + liveness_us_) {}

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
  backend_opts.router_handover = true;   // a worker reconnecting under its id takes it over
  backend_opts.sndhwm = 0;               // bounded by worker capacity instead
  backend_opts.rcvhwm = 0;
  backend_opts.max_message_bytes = static_cast<int64_t>(b.max_message_bytes) * 2 + 65536;
  backend_ = common::make_socket(st_.ctx, zmq::socket_type::router, backend_opts);
  common::bind_socket(backend_, b.backend);

  common::SocketOptions sub_opts;
  sub_opts.rcvhwm = 100000;
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
  notices_.resize(notify_.size());
}

void Dispatcher::run() {
  try {
    loop();
  } catch (const zmq::error_t& e) {
    if (e.num() != ETERM) log()->critical("dispatcher stopped: {}", e.what());
  } catch (const std::exception& e) {
    log()->critical("dispatcher stopped: {}", e.what());
  }
  backend_.close();
  status_.close();
  intake_.close();
  control_.close();
  notify_.clear();
}

void Dispatcher::loop() {
  zmq::pollitem_t items[] = {{control_.handle(), 0, ZMQ_POLLIN, 0},
                             {backend_.handle(), 0, ZMQ_POLLIN, 0},
                             {intake_.handle(), 0, ZMQ_POLLIN, 0},
                             {status_.handle(), 0, ZMQ_POLLIN, 0}};
  while (!stop_) {
    uint64_t now = common::now_us();
    long timeout_ms = static_cast<long>(
        next_deadline_check_us_ > now ? std::min<uint64_t>(50, (next_deadline_check_us_ - now) / 1000 + 1) : 0);
    zmq::poll(items, 4, std::chrono::milliseconds(timeout_ms));
    try {
      // Control first: a clear_cache acknowledged to a client must reach the
      // workers before any task submitted after that acknowledgement.
      if (items[0].revents & ZMQ_POLLIN) on_control();
      if (items[1].revents & ZMQ_POLLIN) on_backend();
      if (items[2].revents & ZMQ_POLLIN) on_intake();
      if (items[3].revents & ZMQ_POLLIN) on_status();
      dispatch_ready();
    } catch (const zmq::error_t&) {
      throw;  // ETERM: stopping
    } catch (const std::exception& e) {
      // Whatever one message did, routing must go on for everyone else.
      log()->error("dispatcher: {}", e.what());
    }
    now = common::now_us();
    if (now >= next_deadline_check_us_) {
      check_deadlines(now);
      next_deadline_check_us_ = now + kDeadlineCheckUs;
    }
    if (now >= next_liveness_check_us_) {
      check_liveness(now);
      next_liveness_check_us_ = now + uint64_t(st_.config.workers.heartbeat_ms) * 500;
    }
    if (now >= next_board_us_) {
      publish_board(now);
      next_board_us_ = now + 100'000;
    }
    send_notices();  // after everything above that may have finished tasks
    if (now >= next_sweep_us_) {
      // Results nobody fetched leave at their TTL even when no put evicts them.
      st_.cache.sweep_expired(now / 1000);
      next_sweep_us_ = now + 1'000'000;
    }
  }
}

void Dispatcher::on_intake() {
  for (int n = 0; n < kBurst; ++n) {
    zmq::message_t m;
    if (!intake_.recv(m, zmq::recv_flags::dontwait)) return;
    for (Task* t : unpack_tasks(m)) {
      queues_[static_cast<int>(t->type)].push_back(t);
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
      stop_ = true;
      return;
    }
    if (cmd == kDrainCommand) {
      // Workers finish what they run; queued tasks keep being dispatched.
      log()->info("draining: {} queued, {} running",
                  queues_[0].size() + queues_[1].size(), Metrics::get(st_.metrics.running));
      continue;
    }
    if (common::link_command(f[0]) == common::LinkCmd::clear) {
      common::Frames frames;
      for (auto& fr : f) frames.push_back(std::move(fr));
      broadcast_clear(frames);
    }
  }
}

void Dispatcher::enqueue(Task* t, bool at_head) {
  auto& q = queues_[static_cast<int>(t->type)];
  at_head ? q.push_front(t) : q.push_back(t);
  Metrics::add(st_.metrics.queue_depth[static_cast<int>(t->type)]);
}

void Dispatcher::dispatch_ready() {
  for (int type = 0; type < common::kTaskTypeCount; ++type) {
    auto& q = queues_[type];
    while (!q.empty()) {
      WorkerEntry* w = scheduler_.pick(static_cast<common::TaskType>(type));
      if (!w) break;
      Task* t = q.front();
      q.pop_front();
      Metrics::sub(st_.metrics.queue_depth[type]);
      if (!send_task(w, t)) {
        enqueue(t, true);
        worker_lost(w, "unreachable");
      }
    }
  }
}

bool Dispatcher::send_task(WorkerEntry* w, Task* t) {
  uint64_t now = common::now_us();
  ++t->attempts;
  auto frames = common::encode_task(t->id, ++next_dispatch_, t->attempts, t->timeout_ms, t->payload);
  frames.insert(frames.begin(), zmq::message_t(w->info.id.data(), w->info.id.size()));
  if (!common::send_frames(backend_, frames)) {
    --t->attempts;
    return false;
  }
  t->dispatched_us = now;
  scheduler_.dispatched(w, t, now);
  st_.live.set_state(t, common::TaskState::running);
  Metrics::add(st_.metrics.running);
  return true;
}

void Dispatcher::finish(Task* t, common::ResultRecord rec, bool keep_in_ledger) {
  uint64_t now = common::now_us();
  rec.id = t->id;
  rec.attempts = t->attempts;
  uint64_t start = t->dispatched_us ? t->dispatched_us : now;
  rec.queued_us = start > t->accepted_us ? start - t->accepted_us : 0;
  Metrics::add(rec.state == common::TaskState::done ? st_.metrics.done : st_.metrics.failed);
  auto ptr = std::make_shared<const common::ResultRecord>(std::move(rec));
  // Cache first, then leave the live table: a reader that misses the task
  // in one finds it in the other (see LiveTable::watch).
  st_.cache.put(ptr, now / 1000);
  uint64_t waiters = st_.live.finish(t);
  for (unsigned i = 0; waiters; ++i, waiters >>= 1) {
    if ((waiters & 1) && i < notices_.size()) notices_[i].push_back(ptr);
  }
  if (keep_in_ledger) {
    t->timed_out = true;  // deleted when its worker answers or dies
  } else {
    delete t;
  }
}

void Dispatcher::send_notices() {
  for (std::size_t i = 0; i < notices_.size(); ++i) {
    if (notices_[i].empty()) continue;
    zmq::message_t m = pack_records(std::move(notices_[i]));
    notices_[i].clear();
    notify_[i].send(m, zmq::send_flags::dontwait);  // no high-water mark: never refused
  }
}

void Dispatcher::fail(Task* t, common::TaskErrorCode code, std::string message) {
  common::ResultRecord rec;
  rec.state = common::TaskState::failed;
  rec.error.code = code;
  rec.error.message = std::move(message);
  finish(t, std::move(rec));
}

void Dispatcher::check_deadlines(uint64_t now) {
  std::vector<Task*> expired;
  for (auto& [id, w] : workers_) {
    for (auto& [tid, t] : w->ledger) {
      if (!t->timed_out && now - t->dispatched_us >= uint64_t(t->timeout_ms) * 1000) expired.push_back(t);
    }
    for (Task* t : expired) {
      Metrics::sub(st_.metrics.running);
      common::ResultRecord rec;
      rec.state = common::TaskState::failed;
      rec.error.code = common::TaskErrorCode::timeout;
      rec.error.message = "task did not finish within " + std::to_string(t->timeout_ms) + " ms";
      rec.worker = w->info.id;
      rec.run_us = now - t->dispatched_us;
      finish(t, std::move(rec), /*keep_in_ledger=*/true);  // the slot stays busy until it answers
    }
    expired.clear();
  }
}

}  // namespace zfleet::broker
