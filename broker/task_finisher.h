// TaskFinisher: records a task's one final outcome (DESIGN decision 8: done
// or failed, exactly once) and gathers what each result thread must be
// told about it, for the dispatcher to send once per loop pass.
//
// finish(): completes the record (id, attempts, queue time) and, once it
// may be seen, publishes it: counts it in the metrics, puts it in the result
// cache and takes the task out of the live table under one LiveTable shard
// lock (live_table.h), so a `get` finds the task in one of the two at every
// moment and a duplicate submit never slips in between; a notice is queued
// for each result thread that waits on the task. "Once it may be seen": at
// once with the journal off; with it on, when its FINISH record is durable
// (on_durable), the task waiting meanwhile in Phase::finishing. The task is
// deleted after publication unless another holder still points to it
// (maybe_delete, task.h).
//
// Thread safety: dispatcher thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "broker/broker_state.h"
#include "broker/handoff.h"
#include "broker/task.h"
#include "broker/task_journal.h"

namespace zfleet::broker {

class TaskFinisher {
 public:
  TaskFinisher(BrokerState& state, std::size_t result_threads, TaskJournal& journal)
      : st_(state), journal_(journal), notices_(result_threads) {}
  ~TaskFinisher();
  TaskFinisher(const TaskFinisher&) = delete;
  TaskFinisher& operator=(const TaskFinisher&) = delete;

  void finish(Task& t, common::ResultRecord rec, uint64_t now_us);
  // The journal is durable up to `seq`: publishes what waited for it.
  void on_durable(uint64_t seq, uint64_t now_us);
  void cancel_reply(uint32_t thread, uint64_t token, common::CancelOutcome outcome);
  // Per result thread; the dispatcher sends the non-empty ones and clears them.
  std::vector<Notice>& notices() { return notices_; }
  BrokerState& state() { return st_; }
  TaskJournal& journal() { return journal_; }
  std::size_t waiting_for_journal() const { return pending_.size(); }

 private:
  struct Pending {
    uint64_t seq;
    Task* task;
    std::shared_ptr<const common::ResultRecord> rec;
  };
  struct PendingReply {
    uint64_t seq;
    uint32_t thread;
    CancelReply reply;
  };
  void publish(Task& t, std::shared_ptr<const common::ResultRecord> rec, uint64_t now_us);

  BrokerState& st_;
  TaskJournal& journal_;
  std::vector<Notice> notices_;
  std::deque<Pending> pending_;  // in sequence order
  std::deque<PendingReply> replies_;  // cancel outcomes waiting, in sequence order
};

}  // namespace zfleet::broker
