// TaskFinisher: records a task's one final outcome (DESIGN decision 8: done
// or failed, exactly once) and gathers what each result thread must be
// told about it, for the dispatcher to send once per loop pass.
//
// finish(): completes the record (id, attempts, queue time), counts it in
// the metrics, then puts it in the result cache and takes the task out of
// the live table under one LiveTable shard lock (live_table.h), so a `get`
// finds the task in one of the two at every moment and a duplicate submit
// never slips in between; a notice is queued for each result thread that
// waits on the task. It does not delete the Task (TaskLifecycle does).
//
// Thread safety: dispatcher thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "broker/broker_state.h"
#include "broker/handoff.h"
#include "broker/task.h"

namespace zfleet::broker {

class TaskFinisher {
 public:
  TaskFinisher(BrokerState& state, std::size_t result_threads)
      : st_(state), notices_(result_threads) {}

  void finish(Task& t, common::ResultRecord rec, uint64_t now_us);
  void cancel_reply(uint32_t thread, uint64_t token, common::CancelOutcome outcome);
  // Per result thread; the dispatcher sends the non-empty ones and clears them.
  std::vector<Notice>& notices() { return notices_; }
  BrokerState& state() { return st_; }

 private:
  BrokerState& st_;
  std::vector<Notice> notices_;
};

}  // namespace zfleet::broker
