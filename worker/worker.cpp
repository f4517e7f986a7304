#include "worker/exec/exec_log.h"
#include "worker/worker.h"

#include "common/exit_codes.h"

#include <unistd.h>

#include <exception>
#include <fstream>
#include <random>

#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/socket_poller.h"
#include "common/sockets.h"
#include "common/task_id.h"
#include "common/threads.h"

namespace zfleet::worker {
namespace {

constexpr const char* kWakeEndpoint = "inproc://zfleet-worker-wake";

// The options of every socket to the broker's backend: the I/O thread's
// DEALER and each pool thread's results DEALER (whose routing id gets the
// thread's slot appended).
common::SocketOptions backend_options(const WorkerOptions& opts, const std::string& route) {
  common::SocketOptions d;
  d.routing_id = route;  // unguessable: the backend lets a routing id take over (handover)
  d.sndhwm = 0;  // results are never dropped; the broker bounds the traffic
  d.rcvhwm = 0;
  d.tcp_keepalive = true;  // a vanished broker host is noticed; no ZMTP pings (common/sockets.h)
  d.reconnect_ivl_ms = 100;
  d.reconnect_ivl_max_ms = 2000;
  d.curve = opts.curve;
  return d;
}

}  // namespace

Worker::Worker(WorkerOptions opts, TaskRunner& runner)
    : opts_(std::move(opts)),
      runner_(runner),
      route_(common::TaskIdGenerator().next()),
      pool_(ctx_, runner, backend_options(opts_, route_), opts_.backend, opts_.threads, opts_.max_result_bytes),
      idle_cpu_(opts_.idle_cpu_percent, opts_.idle_cpu_window_ms * 1000),
      recycler_(RecyclePolicy{opts_.max_tasks, opts_.max_rss_mb * 1024 * 1024}) {
  if (opts_.max_tasks > 0) pool_.queue().set_pop_limit(opts_.max_tasks);
  info_.id = opts_.id;
  info_.pool = opts_.pool;
  info_.host = common::this_host_name();
  info_.pid = getpid();
  info_.threads = static_cast<uint32_t>(opts_.threads);
  info_.capacity = info_.threads;
  std::random_device rd;
  info_.incarnation = (uint64_t{rd()} << 32) | rd();
  info_.route = route_;
}

Worker::~Worker() { stop(); }

void Worker::start() {
  std::promise<void> started;
  auto ready = started.get_future();
  // The promise moves into the thread: it must outlive its own set_value().
  io_ = std::thread([this, started = std::move(started)]() mutable {
    common::name_this_thread("zf-io");
    run(started);
  });
  try {
    ready.get();  // the I/O thread's sockets are up (or start() throws)
  } catch (...) {
    io_.join();
    throw;
  }
  pool_.start();
}

void Worker::stop() {
  if (!io_.joinable()) return;
  stopping_ = true;
  wake_io();  // it may sleep until its next heartbeat
  io_.join();
  pool_.stop();
}

void Worker::run(std::promise<void>& started) {
  try {
    open_sockets();
  } catch (...) {
    backend_.close();
    status_.close();
    wake_.close();
    started.set_exception(std::current_exception());  // start() throws it
    return;
  }
  started.set_value();
  // Fail loudly: see the header. die() does not unwind, so nothing below
  // it (sockets, pool) is waited for.
  try {
    send_ready();
    serve();
    drain();
  } catch (const std::exception& e) {
    common::die(exec_logger(), std::string("worker I/O thread failed: ") + e.what());
  } catch (...) {
    common::die(exec_logger(), "worker I/O thread failed");
  }
  backend_.close();
  status_.close();
  wake_.close();
  if ((stopped_by_broker_ || exit_code_ != 0) && opts_.on_self_stop) opts_.on_self_stop();
}

void Worker::open_sockets() {
  wake_ = common::make_socket(ctx_, zmq::socket_type::pull, common::unbounded_options());
  wake_.bind(kWakeEndpoint);
  const common::SocketOptions d = backend_options(opts_, route_);
  backend_ = common::make_socket(ctx_, zmq::socket_type::dealer, d);
  backend_.connect(opts_.backend);
  common::SocketOptions p;
  p.sndhwm = 100;
  p.curve = opts_.curve;
  status_ = common::make_socket(ctx_, zmq::socket_type::pub, p);
  status_.connect(opts_.status);
  poller_.add(wake_);     // kWakeAt
  poller_.add(backend_);  // kBackendAt
}

void Worker::send_ready() {
  auto frames = common::encode_ready(info_);
  common::send_frames(backend_, frames);
}

void Worker::send_bye() {
  auto bye = common::encode_bye();
  common::send_frames(backend_, bye);
  bye_sent_ = true;
}

void Worker::send_heartbeat() {
  common::Heartbeat hb;
  hb.info = info_;
  hb.seq = ++hb_seq_;
  hb.active = pool_.active.load(std::memory_order_relaxed);
  hb.queued = static_cast<uint32_t>(pool_.queue().size());
  hb.done = pool_.done.load(std::memory_order_relaxed);
  hb.failed = pool_.failed.load(std::memory_order_relaxed);
  hb.rss_bytes = rss_bytes();
  hb.token = welcome_token_;
  auto frames = common::encode_heartbeat(hb);
  common::send_frames(status_, frames);
}

void Worker::serve() {
  uint64_t next_hb = 0;
  while (!stopping_.load(std::memory_order_relaxed)) pass(next_hb);
}

void Worker::pass(uint64_t& next_hb) {
  common::fault_point("worker-io");
  uint64_t now = common::now_us();
  if (now >= next_hb) {
    send_heartbeat();
    next_hb = now + uint64_t(opts_.heartbeat_ms) * 1000;
    if (opts_.kill_grace_ms && pool_.has_stuck_task(now, opts_.kill_grace_ms * 1000)) recycle();
    check_idle_cpu(now);
    common::report_dropped_logs(*exec_logger());
  }
  // Idle, it sleeps until the next heartbeat (stop() wakes it); draining,
  // it looks at its deadline, its parent and the unanswered count every
  // 10 ms (results leave on the pool threads' own sockets: nothing wakes
  // this thread when the last one goes).
  long wait_ms = static_cast<long>((next_hb - now) / 1000 + 1);
  if (stopping_.load(std::memory_order_relaxed)) wait_ms = std::min(wait_ms, 10L);
  // While tasks wait and a thread sleeps, look again every millisecond
  // (TaskQueue::nudge; not while every thread runs a task).
  if (pool_.queue().nudge(now)) wait_ms = 1;
  // poll(2) on the ZMQ_FDs, not zmq_poll (common/socket_poller.h): every
  // socket read from or sent on is marked for the next wait.
  for (std::size_t i : poller_.wait(wait_ms)) {
    if (i == kWakeAt) {
      zmq::message_t wake;
      while (wake_.recv(wake, zmq::recv_flags::dontwait)) {
      }
    } else {
      on_backend();
    }
    poller_.touched(i);
  }
  maybe_recycle(now);
  poller_.touched(kBackendAt);  // this thread sends on it (READY, BYE, RETURN, results)
}

void Worker::on_backend() {
  // Tasks of one burst go to the queue together, so that it can wake just
  // the threads they need.
  std::vector<PendingTask> tasks;
  for (int n = 0; n < 256; ++n) {
    PendingTask p;
    if (!common::recv_message(backend_, p.message, zmq::recv_flags::dontwait)) break;
    auto& f = p.message.frames;
    if (f.empty() || p.message.truncated()) continue;
    auto cmd = common::link_command(f[0]);
    if (!cmd) continue;
    switch (*cmd) {
      case common::LinkCmd::task:
        p.received_us = common::now_us();
        ++handed_;
        tasks.push_back(std::move(p));
        break;
      case common::LinkCmd::cancel: {
        // A TASK earlier in this burst must be in the queue to be found.
        pool_.queue().push(tasks);
        auto dispatch = common::decode_cancel(f, 0);
        if (dispatch) on_cancel(*dispatch);
        break;
      }
      case common::LinkCmd::clear: {
        auto script = common::decode_clear(f, 0);
        if (script) runner_.request_clear(*script);
        break;
      }
      case common::LinkCmd::resync:
        exec_logger()->info("broker asked to register again");
        send_ready();
        if (bye_sent_) send_bye();  // still stopping: the new registration must know
        break;
      case common::LinkCmd::bye_ack:
        bye_acked_ = true;
        break;
      case common::LinkCmd::welcome:
        if (auto token = common::decode_welcome(f, 0)) welcome_token_ = *token;
        break;
      case common::LinkCmd::stop:
        if (!stopping_.exchange(true)) stopped_by_broker_ = true;
        break;
      case common::LinkCmd::refuse: {
        // For good (its pool is not configured there): retrying cannot help.
        auto why = common::decode_refuse(f, 0);
        exec_logger()->error("the broker refused this worker: {}", why ? *why : std::string("no reason given"));
        exit_code_ = common::kExitUsage;
        refused_ = true;
        stopping_ = true;
        break;
      }
      default:
        break;
    }
  }
  pool_.queue().push(tasks);
}

void Worker::on_cancel(uint64_t dispatch) {
  auto result = pool_.cancel(dispatch, common::now_us());
  if (!result) return;  // running (it answers itself) or already answered
  std::vector<common::Frames> one;
  one.push_back(std::move(*result));
  send_results(std::move(one));
}

// An empty message on the wake PULL, from a socket of the calling
// thread's own: the I/O thread's poll returns, and it sees stopping_.
void Worker::wake_io() {
  try {
    zmq::socket_t push = common::make_socket(ctx_, zmq::socket_type::push, {});
    push.set(zmq::sockopt::linger, 1000);  // the wake must reach the PULL before the close
    push.connect(kWakeEndpoint);
    zmq::message_t wake;
    push.send(wake, zmq::send_flags::dontwait);
    push.close();
  } catch (const zmq::error_t& e) {
    exec_logger()->warn("cannot wake the I/O thread to stop: {}", e.what());
  }
}

// RESULTs the I/O thread sends itself: tasks cancelled before they started.
void Worker::send_results(std::vector<common::Frames> results) {
  for (auto& frames : results) {
    if (handed_ > 0) --handed_;
    common::send_frames(backend_, frames);
  }
}

uint64_t Worker::unanswered() const { return handed_ - pool_.sent.load(std::memory_order_acquire); }

void Worker::check_idle_cpu(uint64_t now_us) {
  if (stopping_.load(std::memory_order_relaxed)) return;  // draining: leaving anyway
  const uint64_t finished = pool_.done.load(std::memory_order_relaxed) +
                            pool_.failed.load(std::memory_order_relaxed);
  const bool had_task = unanswered() > 0 || finished != tasks_finished_;
  tasks_finished_ = finished;
  if (!idle_cpu_.sample(now_us, process_cpu_us(), had_task)) return;
  exec_logger()->warn(
      "no task ran for {} ms, yet this worker used {}% of a core (limit {}%): a thread left by a "
      "task is still busy; recycling this worker (exit code {})",
      idle_cpu_.window_us() / 1000, idle_cpu_.last_percent(), opts_.idle_cpu_percent,
      kIdleCpuExit);
  // The drain (BYE, held tasks answered) then ends the I/O thread like a stop.
  exit_code_ = kIdleCpuExit;
  stopping_ = true;
}

void Worker::maybe_recycle(uint64_t now_us) {
  if (!recycler_.enabled() || stopping_.load(std::memory_order_relaxed)) return;
  uint64_t rss = 0;
  if (recycler_.watches_rss() && now_us >= next_rss_check_us_) {
    rss = rss_bytes();
    next_rss_check_us_ = now_us + kRssCheckUs;
  }
  auto why = recycler_.check(pool_.queue().popped(), rss);
  if (!why) return;
  pool_.queue().hold();  // before anything else: no further task may start
  exec_logger()->info("recycling this worker: {}; giving back {} task(s) not started, finishing "
                      "{} running (exit code {})",
                      *why, pool_.queue().size(), pool_.active.load(std::memory_order_relaxed),
                      common::kExitRecycled);
  recycling_ = true;
  exit_code_ = common::kExitRecycled;
  stopping_ = true;  // serve() ends; drain() says BYE and gives the rest back
}

// RETURN for every task still queued: the queue is held, so none of them
// has started, and the broker runs them elsewhere.
void Worker::return_queued() {
  for (PendingTask& p : pool_.queue().take_all()) {
    if (handed_ > 0) --handed_;
    auto task = common::decode_task(p.message.frames, 0);
    if (!task) continue;  // malformed: nothing the broker could run either
    auto frames = common::encode_return(task->dispatch);
    common::send_frames(backend_, frames);
  }
}

void Worker::recycle() {
  exec_logger()->error(
      "a task is stuck more than {} ms past its timeout or cancel: recycling this worker",
      opts_.kill_grace_ms);
  auto gone = common::encode_simple(common::LinkCmd::gone);
  common::send_frames(backend_, gone);
  // The stuck thread holds the GIL or a C call and cannot be joined, so the
  // context cannot be terminated to flush GONE: wait (briefly) for the
  // broker to acknowledge it instead, so it requeues our other tasks at once
  // rather than a liveness window later.
  uint64_t deadline = common::now_us() + 1'000'000;
  common::Message msg;
  while (common::now_us() < deadline) {
    zmq::pollitem_t item{backend_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(50));
    if (!(item.revents & ZMQ_POLLIN) || !common::recv_message(backend_, msg)) continue;
    if (!msg.frames.empty() && common::link_command(msg.frames[0]) == common::LinkCmd::gone_ack) break;
  }
  common::stop_logging(std::chrono::seconds(1));
  std::_Exit(kRecycleExit);
}

bool Worker::drained() const { return bye_acked_ && unanswered() == 0; }

bool Worker::parent_gone() const { return opts_.parent_pid > 0 && getppid() != opts_.parent_pid; }

void Worker::drain() {
  if (refused_) return;  // never registered: no task held, nobody to say BYE to
  send_bye();
  if (recycling_) return_queued();
  exec_logger()->info("stopping: said BYE, finishing {} held task(s)", unanswered());
  const uint64_t deadline = common::now_us() + opts_.drain_timeout_ms * 1000;
  uint64_t next_hb = 0;  // heartbeat at once: a draining worker is alive, not lost
  while (!drained()) {
    if (parent_gone()) {
      exec_logger()->warn("stopping: the broker process is gone; not waiting for it");
      break;
    }
    if (common::now_us() >= deadline) {
      exec_logger()->warn("stopping: drain timeout of {} ms passed (BYE {}acknowledged, {} task(s) "
                          "unanswered)",
                          opts_.drain_timeout_ms, bye_acked_ ? "" : "not ", unanswered());
      break;
    }
    pass(next_hb);
    if (recycling_) return_queued();  // TASKs the broker sent before it read our BYE
  }
  // Nobody will send these results: do not run them.
  if (std::size_t dropped = pool_.queue().discard()) {
    exec_logger()->warn("stopping: dropped {} task(s) that had not started", dropped);
  }
  // Give libzmq a moment to flush the last results (linger is 0).
  backend_.set(zmq::sockopt::linger, 1000);
}

}  // namespace zfleet::worker
