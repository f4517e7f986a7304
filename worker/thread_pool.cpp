#include "worker/exec/exec_log.h"
#include "worker/thread_pool.h"

#include <exception>

#include "common/clock.h"
#include "common/codec.h"
#include "common/fail_loudly.h"
#include "common/log.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::worker {
namespace {

// The RESULT of a task cancelled before a pool thread took it.
common::Frames cancelled_before_start(const PendingTask& p) {
  common::ResultMessage r;
  auto task = common::decode_task(p.message.frames, 0);
  if (task) {
    r.id.assign(task->id);
    r.dispatch = task->dispatch;
    r.attempt = task->attempt;
  }
  r.ok = false;
  r.run_us = 0;
  r.error = {common::TaskErrorCode::cancelled, "cancelled before it started", "", ""};
  return common::encode_result(r);
}

void check_size(common::ResultMessage& r, uint64_t max_result_bytes) {
  if (!r.ok || r.result.size() <= max_result_bytes) return;
  r.ok = false;
  r.error = {common::TaskErrorCode::unserializable_result,
             "result of " + std::to_string(r.result.size()) +
                 " bytes is over broker.max_message_bytes (" + std::to_string(max_result_bytes) +
                 ")",
             "", ""};
  r.result.clear();
}

}  // namespace

ThreadPool::ThreadPool(zmq::context_t& ctx, TaskRunner& runner, common::SocketOptions results,
                       std::string endpoint, int threads, uint64_t max_result_bytes)
    : ctx_(ctx),
      runner_(runner),
      results_(std::move(results)),
      endpoint_(std::move(endpoint)),
      threads_(threads),
      max_result_bytes_(max_result_bytes),
      queue_(threads),
      running_(threads) {}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start() {
  for (int i = 0; i < threads_; ++i) {
    pool_.emplace_back([this, i] { run_thread(static_cast<std::size_t>(i)); });
  }
}

void ThreadPool::stop() {
  queue_.close();
  for (auto& t : pool_) {
    if (t.joinable()) t.join();
  }
  pool_.clear();
}

std::optional<common::Frames> ThreadPool::cancel(uint64_t dispatch, uint64_t now_us) {
  // Queued first, then running: RunningTasks covers a task caught between
  // the two (taken off the queue, not yet begun).
  auto queued = queue_.remove_first([dispatch](const PendingTask& p) {
    auto task = common::decode_task(p.message.frames, 0);
    return task && task->dispatch == dispatch;
  });
  if (queued) {
    failed.fetch_add(1, std::memory_order_relaxed);
    return cancelled_before_start(*queued);
  }
  running_.cancel(dispatch, now_us);
  return std::nullopt;
}

common::ResultMessage ThreadPool::execute(const PendingTask& p, std::size_t slot) {
  common::ResultMessage r;
  // frames: ["T"][id][meta][payload] (DEALER side: no identity frame)
  auto task = common::decode_task(p.message.frames, 0);
  if (!task) {
    r.ok = false;
    r.error = {common::TaskErrorCode::exception, "malformed task message: " + task.error(), "", ""};
    return r;
  }
  r.id.assign(task->id);
  r.dispatch = task->dispatch;
  r.attempt = task->attempt;
  msgpack::object_handle keep;
  auto payload = common::decode_task_payload(task->payload, keep);
  if (!payload) {
    r.error = {common::TaskErrorCode::exception, "malformed task payload: " + payload.error(), "", ""};
    return r;
  }
  TaskInput in;
  in.id = task->id;
  in.script = payload->script;
  in.func = payload->func;
  in.args_msgpack = payload->args_msgpack;
  in.kwargs_msgpack = payload->kwargs_msgpack;
  in.timeout_ms = static_cast<uint32_t>(task->timeout_ms);
  in.capture_output = payload->output;
  uint64_t start = common::now_us();
  uint64_t deadline = in.timeout_ms ? start + uint64_t(in.timeout_ms) * 1000 : 0;
  in.cancel = &running_.begin(slot, task->dispatch, deadline);
  exec_logger()->debug("{}: started, dispatch {} (attempt {}), {} {}", common::task_ref(in.id),
                       task->dispatch, task->attempt, in.script, in.func);
  TaskOutput out = runner_.run(in);
  running_.end(slot);
  r.run_us = common::now_us() - start;
  exec_logger()->debug("{}: {} in {} us{}{}", common::task_ref(in.id), out.ok ? "done" : "failed", r.run_us,
                       out.ok ? "" : ", ", out.ok ? std::string_view() : common::to_string(out.error.code));
  r.ok = out.ok;
  r.result = std::move(out.result_msgpack);
  r.error = std::move(out.error);
  r.output = std::move(out.output);
  return r;
}

void ThreadPool::run_thread(std::size_t slot) {
  common::name_this_thread("zf-pool-" + std::to_string(slot));
  // No exception may leave a std::thread, and a pool thread that stops
  // serving must take the process down with it (header, "Fail loudly").
  try {
    serve(slot);
  } catch (const std::exception& e) {
    common::die(exec_logger(), "pool thread " + std::to_string(slot) + " failed: " + e.what());
  } catch (...) {
    common::die(exec_logger(), "pool thread " + std::to_string(slot) + " failed");
  }
}

void ThreadPool::serve(std::size_t slot) {
  common::SocketOptions o = results_;
  o.routing_id = common::result_route(results_.routing_id, slot);
  zmq::socket_t out = common::make_socket(ctx_, zmq::socket_type::dealer, o);
  out.connect(endpoint_);
  uint64_t last_run_us = TaskQueue::kNoRun;
  std::vector<common::Frames> held;  // results kept for one send group
  uint64_t held_since = 0;
  // Nothing to take: the held group goes before this thread sleeps.
  auto flush = [&] { send_held(out, held); };
  while (auto task = queue_.pop(last_run_us, flush)) {
    common::fault_point("worker-pool");
    active.fetch_add(1, std::memory_order_relaxed);
    common::ResultMessage r = execute(*task, slot);
    check_size(r, max_result_bytes_);
    last_run_us = r.run_us;
    active.fetch_sub(1, std::memory_order_relaxed);
    (r.ok ? done : failed).fetch_add(1, std::memory_order_relaxed);
    held.push_back(common::encode_result(r));
    if (held.size() == 1) held_since = common::now_us();
    const bool hold = queue_.short_backlog() && held.size() < kMaxHeld &&
                      common::now_us() - held_since < kMaxHoldUs;
    if (!hold) send_held(out, held);
  }
  send_held(out, held);
  out.set(zmq::sockopt::linger, kResultLingerMs);
  out.close();
}

// One group: libzmq's I/O thread is woken by the first send of the group
// only, and writes the rest with it.
void ThreadPool::send_held(zmq::socket_t& out, std::vector<common::Frames>& held) {
  for (auto& frames : held) {
    common::send_frames(out, frames);  // no high-water mark: never refused
    sent.fetch_add(1, std::memory_order_release);
  }
  held.clear();
}

}  // namespace zfleet::worker
