#include "broker/task_journal.h"

#include <cstring>

#include "broker/journal/format.h"
#include "common/clock.h"

namespace zfleet::broker {

uint64_t TaskJournal::wall_ms_of(uint64_t steady_us, uint64_t now_us) {
  const int64_t delta_ms = (static_cast<int64_t>(steady_us) - static_cast<int64_t>(now_us)) / 1000;
  const int64_t wall = static_cast<int64_t>(common::wall_ms()) + delta_ms;
  return wall > 0 ? static_cast<uint64_t>(wall) : 0;
}

void TaskJournal::add(common::JournalType type, const std::string& payload) {
  journal::append_record(batch_.records, static_cast<uint8_t>(type), payload);
  batch_.last_seq = ++next_seq_;
}

void TaskJournal::accepted(const Task& t, uint64_t now_us) {
  if (!enabled_) return;
  common::AcceptRecord r;
  r.id = t.id;
  r.pool = pools_->name(t.pool);
  r.payload = t.payload;
  r.timeout_ms = t.timeout_ms;
  r.max_retries = t.max_retries;
  r.retries = t.retries;
  r.retry_on = t.retry_on;
  r.retry_backoff_ms = t.retry_backoff_ms;
  r.accepted_wall_ms = wall_ms_of(t.accepted_us, now_us);
  r.run_after_wall_ms = t.due_us > now_us ? wall_ms_of(t.due_us, now_us) : 0;
  add(common::JournalType::accept, common::encode_journal(r));
}

void TaskJournal::dispatched(const Task& t) {
  if (!enabled_) return;
  common::DispatchRecord r{t.id, t.dispatch, t.attempts, t.losses, t.retries_used};
  add(common::JournalType::dispatch, common::encode_journal(r));
}

void TaskJournal::retry_waiting(const Task& t, uint64_t now_us) {
  if (!enabled_) return;
  common::RetryRecord r{t.id, t.attempts, t.retries_used, wall_ms_of(t.due_us, now_us), t.losses};
  add(common::JournalType::retry, common::encode_journal(r));
}

uint64_t TaskJournal::finished(const common::ResultRecord& rec) {
  if (!enabled_) return 0;
  common::FinishRecord r{rec, common::wall_ms()};
  add(common::JournalType::finish, common::encode_journal(r));
  return next_seq_;
}

void TaskJournal::ack(uint32_t intake, uint64_t token) {
  if (!enabled_) return;
  char pair[sizeof intake + sizeof token];
  std::memcpy(pair, &intake, sizeof intake);
  std::memcpy(pair + sizeof intake, &token, sizeof token);
  batch_.acks.append(pair, sizeof pair);
  // An ack with no record of its own (every task of the batch refused or
  // cancelled) rides on the sequence already written.
  if (batch_.records.empty()) batch_.last_seq = next_seq_;
}

std::optional<TaskJournal::Batch> TaskJournal::take() {
  if (!enabled_ || (batch_.records.empty() && batch_.acks.empty())) return std::nullopt;
  Batch out = std::move(batch_);
  batch_ = Batch{};
  return out;
}

}  // namespace zfleet::broker
