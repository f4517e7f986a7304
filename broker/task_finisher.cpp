#include "broker/task_finisher.h"

#include <memory>

namespace zfleet::broker {

void TaskFinisher::finish(Task& t, common::ResultRecord rec, uint64_t now_us) {
  rec.id = t.id;
  rec.attempts = t.attempts;
  uint64_t start = t.started_us ? t.started_us : now_us;
  rec.queued_us = start > t.accepted_us ? start - t.accepted_us : 0;
  const bool done = rec.state == common::TaskState::done;
  Metrics::add(done ? st_.metrics.done : st_.metrics.failed);
  if (!done && rec.error.code == common::TaskErrorCode::cancelled) Metrics::add(st_.metrics.cancelled);
  auto ptr = std::make_shared<const common::ResultRecord>(std::move(rec));
  uint64_t waiters = st_.live.finish(&t, st_.cache, ptr, now_us / 1000);
  for (unsigned i = 0; waiters; ++i, waiters >>= 1) {
    if ((waiters & 1) && i < notices_.size()) notices_[i].records.push_back(ptr);
  }
  t.phase = Phase::finished;
}

void TaskFinisher::cancel_reply(uint32_t thread, uint64_t token, common::CancelOutcome outcome) {
  if (thread < notices_.size()) notices_[thread].cancels.push_back({token, outcome});
}

}  // namespace zfleet::broker
