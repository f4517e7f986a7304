#include "worker/exec/exec_log.h"
#include "worker/thread_pool.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/sockets.h"
#include "common/worker_link.h"
#include "common/threads.h"

namespace zfleet::worker {
namespace {

common::ResultMessage execute(TaskRunner& runner, const PendingTask& p,
                              std::atomic<uint64_t>& deadline) {
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
  uint64_t start = common::now_us();
  if (in.timeout_ms) deadline.store(start + uint64_t(in.timeout_ms) * 1000, std::memory_order_relaxed);
  TaskOutput out = runner.run(in);
  deadline.store(0, std::memory_order_relaxed);
  r.run_us = common::now_us() - start;
  r.ok = out.ok;
  r.result = std::move(out.result_msgpack);
  r.error = std::move(out.error);
  return r;
}

}  // namespace

ThreadPool::ThreadPool(zmq::context_t& ctx, TaskRunner& runner, std::string results_endpoint,
                       int threads, uint64_t max_result_bytes)
    : ctx_(ctx),
      runner_(runner),
      results_endpoint_(std::move(results_endpoint)),
      threads_(threads),
      max_result_bytes_(max_result_bytes),
      queue_(threads),
      deadlines_(std::make_unique<std::atomic<uint64_t>[]>(static_cast<std::size_t>(threads))) {}

bool ThreadPool::has_stuck_task(uint64_t now_us, uint64_t grace_us) const {
  for (int i = 0; i < threads_; ++i) {
    uint64_t d = deadlines_[i].load(std::memory_order_relaxed);
    if (d != 0 && now_us > d + grace_us) return true;
  }
  return false;
}

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

void ThreadPool::run_thread(std::size_t slot) {
  common::SocketOptions o;
  o.sndhwm = 0;  // a wake-up must never be dropped
  zmq::socket_t out = common::make_socket(ctx_, zmq::socket_type::push, o);
  out.connect(results_endpoint_);
  uint64_t last_run_us = TaskQueue::kNoRun;
  common::name_this_thread("zf-pool-" + std::to_string(slot));
  while (auto task = queue_.pop(last_run_us)) {
    active.fetch_add(1, std::memory_order_relaxed);
    common::ResultMessage r = execute(runner_, *task, deadlines_[slot]);
    if (r.ok && r.result.size() > max_result_bytes_) {
      r.ok = false;
      r.error = {common::TaskErrorCode::unserializable_result,
                 "result of " + std::to_string(r.result.size()) +
                     " bytes is over broker.max_message_bytes (" +
                     std::to_string(max_result_bytes_) + ")",
                 "", ""};
      r.result.clear();
    }
    last_run_us = r.run_us;
    active.fetch_sub(1, std::memory_order_relaxed);
    (r.ok ? done : failed).fetch_add(1, std::memory_order_relaxed);
    if (!outbox_.add(common::encode_result(r), common::now_us(), queue_.short_backlog())) continue;
    try {
      zmq::message_t wake;
      out.send(wake, zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      exec_logger()->error("cannot wake the I/O thread: {}", e.what());
    }
  }
  out.close();
}

}  // namespace zfleet::worker
