// TaskLifecycle: runs that a previous broker process had in progress when
// it stopped (issue 10), matched by their dispatch number.
#include "broker/broker_log.h"
#include "broker/task_lifecycle.h"

namespace zfleet::broker {

void TaskLifecycle::adopt_runs(std::vector<RecoveredRun> runs) {
  for (auto& r : runs) recovered_.emplace(r.dispatch, std::move(r));
}

// An answer for a run of the previous broker process: the outcome of its
// task if that task has not run again since (same attempts, still queued).
bool TaskLifecycle::recovered_answer(WorkerEntry* w, common::ResultMessage& r, uint64_t now_us) {
  auto it = recovered_.find(r.dispatch);
  if (it == recovered_.end()) return false;
  RecoveredRun run = std::move(it->second);
  recovered_.erase(it);
  Task* t = st_.live.find(run.id);
  if (!t || t->phase != Phase::queued || t->attempts != run.attempts) return false;
  common::ResultRecord rec = record_of(*w, r);
  log()->info("{}: the answer to its run before the restart arrived: {}", common::task_ref(t->id),
              common::to_string(rec.state));
  finish(t, std::move(rec), now_us);
  queues_.tombstoned(t->pool);
  return true;
}

}  // namespace zfleet::broker
