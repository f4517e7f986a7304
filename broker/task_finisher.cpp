#include "broker/task_finisher.h"

#include <memory>

namespace zfleet::broker {

TaskFinisher::~TaskFinisher() {
  for (Pending& p : pending_) {
    p.task->phase = Phase::finished;
    maybe_delete(p.task);
  }
}

void TaskFinisher::finish(Task& t, common::ResultRecord rec, uint64_t now_us) {
  rec.id = t.id;
  rec.attempts = t.attempts;
  uint64_t start = t.started_us ? t.started_us : now_us;
  rec.queued_us = start > t.accepted_us ? start - t.accepted_us : 0;
  auto ptr = std::make_shared<const common::ResultRecord>(std::move(rec));
  if (journal_.enabled()) {
    const uint64_t seq = journal_.finished(*ptr);
    t.phase = Phase::finishing;
    pending_.push_back({seq, &t, std::move(ptr)});
    return;
  }
  publish(t, std::move(ptr), now_us);
}

void TaskFinisher::on_durable(uint64_t seq, uint64_t now_us) {
  while (!pending_.empty() && pending_.front().seq <= seq) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    publish(*p.task, std::move(p.rec), now_us);
  }
  // After the publications: a client told `cancelled` finds the result.
  while (!replies_.empty() && replies_.front().seq <= seq) {
    notices_[replies_.front().thread].cancels.push_back(replies_.front().reply);
    replies_.pop_front();
  }
}

void TaskFinisher::publish(Task& t, std::shared_ptr<const common::ResultRecord> rec,
                           uint64_t now_us) {
  const bool done = rec->state == common::TaskState::done;
  PoolMetrics& m = st_.metrics.pool[t.pool];
  Metrics::add(done ? m.done : m.failed_of(rec->error.code));
  uint64_t waiters = st_.live.finish(&t, st_.cache, rec, now_us / 1000);
  for (unsigned i = 0; waiters; ++i, waiters >>= 1) {
    if ((waiters & 1) && i < notices_.size()) notices_[i].records.push_back(rec);
  }
  t.phase = Phase::finished;
  maybe_delete(&t);
}

// With the journal on, an outcome is told once everything journaled so far
// (the cancel's FINISH record included) is durable: a `cancelled` must
// survive a crash that follows it.
void TaskFinisher::cancel_reply(uint32_t thread, uint64_t token, common::CancelOutcome outcome) {
  if (thread >= notices_.size()) return;
  if (journal_.enabled() && !journal_.is_durable(journal_.last_seq())) {
    replies_.push_back({journal_.last_seq(), thread, {token, outcome}});
    return;
  }
  notices_[thread].cancels.push_back({token, outcome});
}

}  // namespace zfleet::broker
