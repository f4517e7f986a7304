#include "broker/broker_log.h"
#include "broker/task_lifecycle.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace zfleet::broker {
namespace {

using common::TaskErrorCode;

// The metrics gauge a task in phase `p` is counted in (nullptr: none).
std::atomic<uint64_t>* gauge(Metrics& m, const Task& t, Phase p) {
  int type = t.pool;
  switch (p) {
    case Phase::handed_off:
    case Phase::queued:
      return &m.pool[type].queue_depth;  // intake counted it at admission
    case Phase::delayed:
    case Phase::retry_wait:
      return &m.pool[type].delayed;
    case Phase::running:
      return &m.pool[type].running;
    case Phase::finishing:
    case Phase::finished:
      return nullptr;
  }
  return nullptr;
}

// Counted against broker.max_queued (Metrics::waiting): accepted, not running.
bool waiting(Phase p) {
  return p == Phase::handed_off || p == Phase::queued || p == Phase::delayed ||
         p == Phase::retry_wait;
}

// A delayed submit leaves broker.max_delayed's count (intake reserved it)
// once it is due, or once it ends (a cancel), whatever comes next.
void release_delay(Metrics& m, Task& t) {
  if (!t.delay_counted) return;
  t.delay_counted = false;
  Metrics::sub(m.pool[t.pool].held_delayed);
}

}  // namespace

TaskLifecycle::TaskLifecycle(TaskFinisher& finisher, WorkerRegistry& registry, TaskSender& sender,
                             LifecycleOptions options)
    : fin_(finisher),
      st_(finisher.state()),
      registry_(registry),
      sender_(sender),
      opts_(options),
      rng_(options.seed ? options.seed : std::random_device{}()) {
  // Dispatch numbers start at a random point: answers a worker still owes
  // a previous broker process (one that crashed) can never match a run of
  // this one.
  next_dispatch_ = (rng_() & 0xFFFFF) << 40;
}

TaskLifecycle::~TaskLifecycle() {
  // A running task is both in running_ and in the timers: delete each once.
  std::unordered_set<Task*> owned;
  for (auto& [d, run] : running_) owned.insert(run.task);
  while (Task* t = timers_.pop_due(UINT64_MAX)) owned.insert(t);
  for (int type = 0; type < common::kMaxPools; ++type) {
    auto tt = static_cast<common::PoolId>(type);
    while (Task* t = queues_.front_runnable(tt)) {
      queues_.pop_front(tt);
      owned.insert(t);
    }
  }
  for (Task* t : owned) delete t;
}

void TaskLifecycle::set_phase(Task* t, Phase p) {
  const Phase old = t->phase;
  if (auto* g = gauge(st_.metrics, *t, old)) Metrics::sub(*g);
  if (auto* g = gauge(st_.metrics, *t, p)) Metrics::add(*g);
  if (waiting(old) != waiting(p)) {
    auto& w = st_.metrics.pool[t->pool].waiting;
    waiting(p) ? Metrics::add(w) : Metrics::sub(w);
  }
  t->phase = p;
  if (p != Phase::delayed) release_delay(st_.metrics, *t);
  // What a `get` shows: running, or pending with the time it becomes
  // runnable. Intake published pending (and a delay's run-after) itself.
  if (p == Phase::running) {
    st_.live.set_state(t, common::TaskState::running);
  } else if (p == Phase::retry_wait) {
    st_.live.set_state(t, common::TaskState::pending, t->due_us);
  } else if (p == Phase::queued && old != Phase::handed_off) {
    st_.live.set_state(t, common::TaskState::pending);
  }
}

void TaskLifecycle::counted_ignore(const Task& t, const char* event) {
  ++ignored_;
  log()->debug("{}: {} does not apply in its current phase ({}), ignored", common::task_ref(t.id), event,
               static_cast<int>(t.phase));
}

void TaskLifecycle::accept(Task* t, uint64_t now_us, bool journaled) {
  t->intake_ref = false;
  if (t->phase == Phase::finishing || t->phase == Phase::finished) {
    maybe_delete(t);  // cancelled before it reached us
    return;
  }
  if (t->phase != Phase::handed_off) return counted_ignore(*t, "accept");
  if (!journaled) fin_.journal().accepted(*t, now_us);
  if (t->due_us > now_us) {
    set_phase(t, Phase::delayed);
    timers_.schedule(t, t->due_us);
    log()->debug("{}: accepted, pool {}, delayed {} ms", common::task_ref(t->id), st_.pools.name(t->pool),
                 (t->due_us - now_us) / 1000);
  } else {
    enqueue(t, now_us, false);
    log()->debug("{}: accepted, pool {}, queued", common::task_ref(t->id), st_.pools.name(t->pool));
  }
}

void TaskLifecycle::enqueue(Task* t, uint64_t now_us, bool front) {
  set_phase(t, Phase::queued);
  t->runnable_us = now_us;
  front ? queues_.push_front(t) : queues_.push(t);
}

void TaskLifecycle::dispatch_ready(uint64_t now_us) {
  for (int type = 0; type < st_.pools.size(); ++type) {
    auto tt = static_cast<common::PoolId>(type);
    while (Task* t = queues_.front_runnable(tt)) {
      WorkerEntry* w = registry_.pick(tt);
      if (!w) break;
      queues_.pop_front(tt);
      dispatch(t, w, now_us);
    }
  }
}

void TaskLifecycle::dispatch(Task* t, WorkerEntry* w, uint64_t now_us) {
  const uint64_t d = ++next_dispatch_;
  ++t->attempts;
  if (!sender_.send_task(*w, *t, d)) {
    --t->attempts;
    queues_.push_front(t);
    worker_lost(w, "unreachable", now_us, false);
    return;
  }
  registry_.occupy(w, d, now_us);
  if (now_us >= t->runnable_us) st_.metrics.pool[t->pool].queue_wait.record(now_us - t->runnable_us);
  running_.emplace(d, Run{t, w});
  t->dispatch = d;
  t->started_us = now_us;
  set_phase(t, Phase::running);
  fin_.journal().dispatched(*t);
  timers_.schedule(t, now_us + uint64_t{t->timeout_ms} * 1000);
  log()->debug("{}: dispatch {} (attempt {}) to {}", common::task_ref(t->id), d, t->attempts, w->info.id);
}

void TaskLifecycle::run_ended(Task* t) {
  running_.erase(t->dispatch);
  t->dispatch = 0;
  timers_.cancel(t);
}

void TaskLifecycle::finish(Task* t, common::ResultRecord rec, uint64_t now_us) {
  timers_.cancel(t);
  if (auto* g = gauge(st_.metrics, *t, t->phase)) Metrics::sub(*g);
  if (waiting(t->phase)) Metrics::sub(st_.metrics.pool[t->pool].waiting);
  release_delay(st_.metrics, *t);
  log()->debug("{}: {} after {} attempt(s){}", common::task_ref(t->id), common::to_string(rec.state),
               t->attempts,
               rec.state == common::TaskState::failed
                   ? std::string(" (") + std::string(common::to_string(rec.error.code)) + ")"
                   : std::string());
  fin_.finish(*t, std::move(rec), now_us);  // phase -> finished
}

void TaskLifecycle::fail(Task* t, TaskErrorCode code, std::string message, const WorkerEntry* w,
                         uint64_t run_us, uint64_t now_us) {
  common::ResultRecord rec;
  rec.state = common::TaskState::failed;
  rec.error.code = code;
  rec.error.message = std::move(message);
  if (w) rec.worker = w->info.id;
  rec.run_us = run_us;
  finish(t, std::move(rec), now_us);
}

bool TaskLifecycle::retry_allowed(const Task& t, TaskErrorCode code) const {
  return !t.cancel_requested && t.retries_used < t.retries &&
         (t.retry_on & common::error_bit(code)) != 0;
}

void TaskLifecycle::to_retry_wait(Task* t, uint64_t now_us) {
  ++t->retries_used;
  // retry_backoff_ms doubled per retry, +-20% jitter, then capped.
  double ms = double(t->retry_backoff_ms) * std::ldexp(1.0, t->retries_used - 1);
  ms *= std::uniform_real_distribution<double>(0.8, 1.2)(rng_);
  ms = std::min(ms, double(opts_.max_retry_backoff_ms));
  const uint64_t due = now_us + static_cast<uint64_t>(ms * 1000);
  t->due_us = due;  // set_phase publishes it as run_after
  set_phase(t, Phase::retry_wait);
  timers_.schedule(t, due);
  fin_.journal().retry_waiting(*t, now_us);
  Metrics::add(st_.metrics.pool[t->pool].retried);
  log()->debug("{}: retry {} of {} in {} ms", common::task_ref(t->id), t->retries_used, t->retries,
               static_cast<uint64_t>(ms));
}

void TaskLifecycle::on_result(WorkerEntry* w, common::ResultMessage r, uint64_t now_us) {
  if (!registry_.release(w, r.dispatch, r.run_us)) {
    // Not a slot it holds: a duplicate, or from before it registered again
    // (maybe from before the broker restarted: then it may still count).
    if (!recovered_answer(w, r, now_us)) Metrics::add(st_.metrics.stale_results);
    return;
  }
  r.ok ? ++w->done : ++w->failed;
  auto it = running_.find(r.dispatch);
  if (it == running_.end()) {
    // The slot is free again, but d is no task's current run any more: it
    // timed out, was cancelled, or was requeued when w was thought lost.
    Metrics::add(st_.metrics.stale_results);
    return;
  }
  Task* t = it->second.task;
  run_ended(t);
  st_.metrics.pool[t->pool].run_time.record(r.run_us);
  if (r.ok && r.result.size() > opts_.max_result_bytes) {
    r.ok = false;
    r.error = {TaskErrorCode::unserializable_result,
               "result of " + std::to_string(r.result.size()) + " bytes is over " + opts_.result_limit_key +
                   " (" + std::to_string(opts_.max_result_bytes) + ")",
               "", ""};
  }
  // The worker caps a task's output; this caps what any peer can make us hold.
  if (r.output.size() > opts_.max_result_bytes) r.output.resize(opts_.max_result_bytes);
  if (!r.ok && t->cancel_requested) {
    // Interrupted by the cancel (or failed meanwhile): cancelled is final.
    return fail(t, TaskErrorCode::cancelled, "cancelled while running", w, r.run_us, now_us);
  }
  if (!r.ok && retry_allowed(*t, r.error.code)) return to_retry_wait(t, now_us);
  common::ResultRecord rec = record_of(*w, r);
  finish(t, std::move(rec), now_us);
}

// A worker's answer as a final record (moves the value out of `r`).
common::ResultRecord TaskLifecycle::record_of(const WorkerEntry& w, common::ResultMessage& r) {
  common::ResultRecord rec;
  rec.state = r.ok ? common::TaskState::done : common::TaskState::failed;
  rec.result = std::move(r.result);
  rec.output = std::move(r.output);
  rec.error = std::move(r.error);
  rec.worker = w.info.id;
  rec.run_us = r.run_us;
  return rec;
}

void TaskLifecycle::on_timers(uint64_t now_us) {
  while (Task* t = timers_.pop_due(now_us)) {
    switch (t->phase) {
      case Phase::delayed:
      case Phase::retry_wait:
        enqueue(t, now_us, false);
        log()->debug("{}: due, queued", common::task_ref(t->id));
        break;
      case Phase::running:
        on_deadline(t, now_us);
        break;
      default:
        counted_ignore(*t, "timer");
    }
  }
}

// The run's deadline (or a cancel's grace) passed. Its worker keeps the
// slot until it answers d, says GONE or dies: the call may still be stuck.
void TaskLifecycle::on_deadline(Task* t, uint64_t now_us) {
  const WorkerEntry* w = running_.at(t->dispatch).worker;
  const uint64_t run_us = now_us - t->started_us;
  run_ended(t);
  st_.metrics.pool[t->pool].run_time.record(run_us);
  if (t->cancel_requested) {
    fail(t, TaskErrorCode::cancelled, "cancelled; its worker did not stop it in time", w, run_us, now_us);
  } else if (retry_allowed(*t, TaskErrorCode::timeout)) {
    return to_retry_wait(t, now_us);
  } else {
    fail(t, TaskErrorCode::timeout,
         "task did not finish within " + std::to_string(t->timeout_ms) + " ms", w, run_us, now_us);
  }
}

void TaskLifecycle::worker_lost(WorkerEntry* w, const char* why, uint64_t now_us, bool exiting) {
  if (w->stopping && w->inflight() == 0) {
    // It said BYE (a clean stop or a recycle) and owes nothing: gone as announced.
    log()->info("worker {} has left ({})", w->info.id, why);
  } else {
    log()->warn("worker {} lost ({}): {} tasks in flight", w->info.id, why, w->inflight());
  }
  const std::vector<uint64_t> slots(w->ledger.begin(), w->ledger.end());
  registry_.mark_dead(w, now_us, exiting);
  for (uint64_t d : slots) {
    auto it = running_.find(d);
    if (it == running_.end()) continue;  // that run had already ended
    Task* t = it->second.task;
    run_ended(t);
    if (t->cancel_requested) {
      fail(t, TaskErrorCode::cancelled, "cancelled; its worker was lost", w, 0, now_us);
    } else if (++t->losses > t->max_retries) {
      fail(t, TaskErrorCode::worker_lost,
           "worker " + w->info.id + " was lost after " + std::to_string(t->attempts) + " attempt(s)",
           w, 0, now_us);
    } else {
      Metrics::add(st_.metrics.pool[t->pool].retried);
      enqueue(t, now_us, true);
      log()->debug("{}: requeued, worker {} lost", common::task_ref(t->id), w->info.id);
    }
  }
}

void TaskLifecycle::returned(WorkerEntry* w, uint64_t dispatch, uint64_t now_us) {
  // The run took no time: keep the worker's average as it is.
  const auto avg = static_cast<uint64_t>(std::max(0.0, w->avg_run_us));
  if (!registry_.release(w, dispatch, avg)) return;  // not a slot it holds
  auto it = running_.find(dispatch);
  if (it == running_.end()) return;  // timed out or cancelled meanwhile: only the slot
  Task* t = it->second.task;
  run_ended(t);
  if (t->attempts > 0) --t->attempts;
  log()->debug("{}: dispatch {} returned unstarted by {}", common::task_ref(t->id), dispatch, w->info.id);
  if (t->cancel_requested) {
    return fail(t, TaskErrorCode::cancelled, "cancelled before it ran", w, 0, now_us);
  }
  enqueue(t, now_us, true);
}

common::CancelOutcome TaskLifecycle::cancel(std::string_view id, uint64_t now_us, std::string why) {
  using common::CancelOutcome;
  Task* t = st_.live.find(id);
  if (!t) return st_.cache.contains(id, now_us / 1000) ? CancelOutcome::too_late : CancelOutcome::unknown;
  const Phase p = t->phase;
  switch (p) {
    case Phase::running: {
      if (!t->cancel_requested) {
        log()->debug("{}: cancel sent to its worker", common::task_ref(t->id));
        t->cancel_requested = true;
        sender_.send_cancel(*running_.at(t->dispatch).worker, t->dispatch);
        timers_.schedule(t, std::min(t->due_us, now_us + opts_.cancel_grace_us));
      }
      return CancelOutcome::cancelling;
    }
    case Phase::finishing:
    case Phase::finished:
      return CancelOutcome::too_late;
    default:
      break;
  }
  fail(t, TaskErrorCode::cancelled, std::move(why), nullptr, 0, now_us);
  // A queued task stays in its deque as a tombstone (queue_ref), and one not
  // yet handed over is still held by intake (intake_ref): each holder drops
  // it where it meets it (maybe_delete).
  if (p == Phase::queued) queues_.tombstoned(t->pool);
  return CancelOutcome::cancelled;
}

}  // namespace zfleet::broker
