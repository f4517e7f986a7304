// TaskLifecycle: the one place where a task changes state (DESIGN decision
// 8; the table is in docs/architecture.md, "Task lifecycle").
//
//   handed_off -> queued | delayed          accept()
//   delayed, retry_wait -> queued           on_timers(): its timer fired
//   queued -> running (dispatch d)          dispatch_ready(): a worker has a slot
//   running -> finished | retry_wait        on_result() for d; on_timers(): deadline
//   running -> queued (head) | finished     worker_lost(): attempts + 1 / worker_lost
//   running -> queued (head)                returned(): the worker gave d back unstarted
//                                           (recycling itself): no attempt, no loss
//   handed_off, queued, delayed,
//     retry_wait -> finished (cancelled)    cancel()
//   running -> running (cancel sent)        cancel(): failed `cancelled` when the
//                                           worker answers d with an error or
//                                           after a grace period, whichever first
//
// Every transition checks the current phase and, for anything a worker
// says, the dispatch number: the key that ties an answer to a task's
// current run. A RESULT whose d is not a current run (late, duplicate, from
// before a restart) is counted as stale and frees only d's slot; a timer
// or event that finds the task in another phase is counted and ignored.
// Slots (WorkerRegistry ledgers) and task states are kept apart: a slot is
// freed by the worker's answer for d, its GONE or its death, whatever the
// task has become meanwhile, so a task that timed out while stuck in C
// still holds its worker's slot and that worker is never sent past its
// capacity.
//
// Owns every Task the dispatcher has received (queues, timers, the
// running index) and deletes each once finished. Talks to workers only
// through TaskSender, and records outcomes through TaskFinisher, so unit
// tests drive it with no socket at all.
//
// Thread safety: dispatcher thread only; not synchronized.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <unordered_map>

#include "broker/recovery.h"
#include "broker/task_finisher.h"
#include "broker/task_queues.h"
#include "broker/timer_heap.h"
#include "broker/worker_registry.h"

namespace zfleet::broker {

// How the lifecycle reaches workers (the dispatcher's backend socket).
class TaskSender {
 public:
  virtual ~TaskSender() = default;
  // Sends `t` (its attempt already counted) as dispatch `d`; false when
  // `w` cannot be reached.
  virtual bool send_task(WorkerEntry& w, const Task& t, uint64_t d) = 0;
  virtual void send_cancel(WorkerEntry& w, uint64_t d) = 0;
};

struct LifecycleOptions {
  uint64_t max_retry_backoff_ms = 600'000;
  uint64_t max_result_bytes = 16 << 20;   // larger results fail unserializable_result
  uint64_t cancel_grace_us = 1'000'000;   // a cancelled run not answered by then fails
  uint64_t seed = 0;                      // retry jitter; 0 = random
  const char* result_limit_key = "broker.max_result_bytes";  // named when a result is over
};

class TaskLifecycle {
 public:
  TaskLifecycle(TaskFinisher& finisher, WorkerRegistry& registry, TaskSender& sender,
                LifecycleOptions options);
  ~TaskLifecycle();  // deletes every task still owned
  TaskLifecycle(const TaskLifecycle&) = delete;
  TaskLifecycle& operator=(const TaskLifecycle&) = delete;

  // `journaled`: its ACCEPT is already in the journal (a task restored at
  // start): writing another would reset its attempts on the next replay.
  void accept(Task* t, uint64_t now_us, bool journaled = false);
  void dispatch_ready(uint64_t now_us);
  void on_result(WorkerEntry* w, common::ResultMessage r, uint64_t now_us);
  void on_timers(uint64_t now_us);
  // `exiting`: it said GONE, so its slots are freed too.
  void worker_lost(WorkerEntry* w, const char* why, uint64_t now_us, bool exiting);
  // The worker gave dispatch d back without running it (RETURN: it is
  // recycling itself and will take no more tasks): d's slot is freed and the
  // task goes back to the head of its queue as if d had never been sent
  // (its attempt given back, no loss counted), or ends `cancelled` if a
  // cancel came meanwhile. A d that is no current run frees only its slot.
  void returned(WorkerEntry* w, uint64_t dispatch, uint64_t now_us);
  // `why`: the message of a pending task's `cancelled` error (a client's
  // cancel says "cancelled before it ran"; recovery names a pool that is gone).
  common::CancelOutcome cancel(std::string_view id, uint64_t now_us,
                               std::string why = "cancelled before it ran");
  // Runs that were in progress when the broker last stopped (recovery.h):
  // their tasks are queued again, but if a worker that outlived the broker
  // answers one of them before the task runs again, that answer is its
  // outcome, so it neither runs twice nor ends twice.
  void adopt_runs(std::vector<RecoveredRun> runs);

  uint64_t next_timer_us() const { return timers_.next_due_us(); }
  std::size_t queued() const { return queues_.runnable(); }
  // When the pool's oldest queued task became runnable (0: none queued).
  uint64_t oldest_queued_us(common::PoolId pool) {
    const Task* t = queues_.front_runnable(pool);
    return t ? t->runnable_us : 0;
  }
  std::size_t running() const { return running_.size(); }
  std::size_t timed() const { return timers_.size(); }
  uint64_t ignored() const { return ignored_; }

 private:
  struct Run {
    Task* task;
    WorkerEntry* worker;
  };

  void dispatch(Task* t, WorkerEntry* w, uint64_t now_us);
  void set_phase(Task* t, Phase p);
  // queued, at the back (or the front: a task that already waited its turn).
  void enqueue(Task* t, uint64_t now_us, bool front);
  void finish(Task* t, common::ResultRecord rec, uint64_t now_us);
  void fail(Task* t, common::TaskErrorCode code, std::string message, const WorkerEntry* w,
            uint64_t run_us, uint64_t now_us);
  bool retry_allowed(const Task& t, common::TaskErrorCode code) const;
  void to_retry_wait(Task* t, uint64_t now_us);
  void on_deadline(Task* t, uint64_t now_us);
  void run_ended(Task* t);  // leaves the running index (slot untouched)
  void counted_ignore(const Task& t, const char* event);
  bool recovered_answer(WorkerEntry* w, common::ResultMessage& r, uint64_t now_us);
  static common::ResultRecord record_of(const WorkerEntry& w, common::ResultMessage& r);

  TaskFinisher& fin_;
  BrokerState& st_;
  WorkerRegistry& registry_;
  TaskSender& sender_;
  LifecycleOptions opts_;
  TaskQueues queues_;
  TimerHeap timers_;
  std::unordered_map<uint64_t, Run> running_;  // current runs, by dispatch number
  std::unordered_map<uint64_t, RecoveredRun> recovered_;  // runs of a previous broker, by dispatch number
  uint64_t next_dispatch_ = 0;
  uint64_t ignored_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace zfleet::broker
