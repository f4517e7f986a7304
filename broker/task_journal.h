// TaskJournal: the dispatcher's side of the journal (issue 10). It turns the
// lifecycle's transitions into records for the current loop pass, hands
// them to the journal thread once per pass, and knows how far they are
// durable. With the journal off every method is a no-op and everything is
// durable at once, so the hot path pays one branch.
//
// What waits for durability (DESIGN decision 8, PROTOCOL "journal"): a
// submit's `accepted` (intake holds the reply until the ack token of its
// batch comes back) and a finished task's result (TaskFinisher holds the
// task in Phase::finishing until its FINISH record's sequence is durable).
// Dispatches and retries are written but nobody waits for them: after a
// crash a task that was running simply runs again.
//
// Thread safety: dispatcher thread only.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "broker/task.h"
#include "common/journal_codec.h"
#include "common/pools.h"

namespace zfleet::broker {

class TaskJournal {
 public:
  // `pools` (not owned, outlives this) names each task's pool in ACCEPT.
  TaskJournal(bool enabled, const common::PoolNames& pools) : enabled_(enabled), pools_(&pools) {}
  bool enabled() const { return enabled_; }

  void accepted(const Task& t, uint64_t now_us);
  void dispatched(const Task& t);
  void retry_waiting(const Task& t, uint64_t now_us);
  // Returns the sequence number of the FINISH record (0 when off).
  uint64_t finished(const common::ResultRecord& rec);
  // Intake thread `intake`'s batch `token` is acknowledged once this
  // pass's records are durable.
  void ack(uint32_t intake, uint64_t token);

  // What one loop pass hands to the journal thread.
  struct Batch {
    std::string records;  // framed (broker/journal/format.h)
    uint64_t last_seq = 0;
    std::string acks;     // (u32 intake, u64 token) pairs, little-endian
  };
  std::optional<Batch> take();

  void durable(uint64_t seq) { durable_seq_ = seq > durable_seq_ ? seq : durable_seq_; }
  uint64_t durable_seq() const { return durable_seq_; }
  uint64_t last_seq() const { return next_seq_; }
  bool is_durable(uint64_t seq) const { return !enabled_ || seq <= durable_seq_; }

  // Parses an ack blob of a durability report: calls f(intake, token).
  template <class F>
  static void for_each_ack(std::string_view blob, F f);

  // Wall-clock ms of a steady-clock time (records outlive the process).
  static uint64_t wall_ms_of(uint64_t steady_us, uint64_t now_us);

 private:
  void add(common::JournalType type, const std::string& payload);

  bool enabled_;
  const common::PoolNames* pools_;
  Batch batch_;
  uint64_t next_seq_ = 0;
  uint64_t durable_seq_ = 0;
};

template <class F>
void TaskJournal::for_each_ack(std::string_view blob, F f) {
  constexpr std::size_t kPair = sizeof(uint32_t) + sizeof(uint64_t);
  for (std::size_t at = 0; at + kPair <= blob.size(); at += kPair) {
    uint32_t intake;
    uint64_t token;
    std::memcpy(&intake, blob.data() + at, sizeof intake);
    std::memcpy(&token, blob.data() + at + sizeof intake, sizeof token);
    f(intake, token);
  }
}

}  // namespace zfleet::broker
