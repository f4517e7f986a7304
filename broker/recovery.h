// RecoveryState: what the journal says the broker held, folded record by
// record (issue 10). The same fold serves start-up replay (restore() then
// turns it back into live tasks and cached results) and compaction
// (write_snapshot() emits the fewest records that rebuild it), so replay
// and compaction cannot disagree on what a record means.
//
// Folding rules, per task id (ids are reused after expiry, so order
// matters and the last word wins):
//   ACCEPT    a new live task (replaces whatever the id held)
//   DISPATCH  live: a run started (attempts, losses, retries so far)
//   RETRY     live: waiting for its backoff until run_after
//   FINISH    the id's final result (replaces the live task)
// A record for an id that is not live (a DISPATCH after its FINISH, say)
// changes nothing. A payload that does not decode is counted and skipped:
// the storage layer already rejected torn or corrupt bytes by checksum.
//
// restore(): live tasks go back to the queue (a run in progress at the
// crash runs again, its attempt counted; delayed tasks and retries keep
// their wall-clock run-after time); results go back into the cache with
// their age, unless past the TTL.
//
// Thread safety: none; used by one thread at a time (start-up, then the
// compactor's fold copies).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/broker_state.h"
#include "broker/journal/fold.h"
#include "broker/task.h"
#include "common/journal_codec.h"

namespace zfleet::broker {

struct RecoveryLimits {
  uint64_t ttl_ms = 3'600'000;       // cache.ttl_s
  uint64_t max_entries = 1'000'000;  // cache.max_entries
  uint64_t max_bytes = 1ull << 29;   // cache.max_bytes
};

// A task restored as running: a late answer for its old dispatch may still
// come from a worker that outlived the broker (TaskLifecycle::adopt).
struct RecoveredRun {
  uint64_t dispatch;
  std::string id;
  uint16_t attempts;
};

class RecoveryState {
 public:
  explicit RecoveryState(RecoveryLimits limits) : limits_(limits) {}

  void apply(uint8_t type, std::string_view payload);
  // Emits records (type, payload) that rebuild this state, results past
  // their TTL (at now_wall_ms) or beyond the cache's limits left out.
  void write_snapshot(uint64_t now_wall_ms,
                      const std::function<void(uint8_t, std::string_view)>& emit) const;

  struct Restored {
    std::vector<Task*> tasks;  // in queue order; owned by the caller (hand them to the dispatcher)
    std::vector<RecoveredRun> runs;
    std::size_t results = 0;   // put back in the cache
    std::size_t expired = 0;   // results past their TTL, dropped
  };
  // Inserts the live tasks in st.live and the results in st.cache.
  Restored restore(BrokerState& st, uint64_t now_us, uint64_t now_wall_ms) const;

  std::size_t live() const;
  std::size_t finished() const { return entries_.size() - live(); }
  uint64_t undecodable() const { return undecodable_; }

 private:
  struct Entry {
    uint64_t order = 0;  // ACCEPT order: FIFO on restore
    bool finished = false;
    bool running = false;
    common::AcceptRecord accept;  // live
    uint16_t attempts = 0;
    uint8_t losses = 0;
    uint8_t retries_used = 0;
    uint64_t last_dispatch = 0;
    uint64_t run_after_wall_ms = 0;
    common::FinishRecord finish;  // finished
  };
  Entry* live_entry(const std::string& id);
  std::vector<const Entry*> results_to_keep(uint64_t now_wall_ms) const;
  std::vector<const Entry*> live_in_order() const;

  RecoveryLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t next_order_ = 0;
  uint64_t undecodable_ = 0;
};

// The journal storage layer's view of a RecoveryState (replay at start,
// and each compaction's private fold). Snapshots drop what is past the
// TTL at the moment they are written.
class RecoveryFold final : public journal::Fold {
 public:
  explicit RecoveryFold(RecoveryLimits limits) : state(limits) {}
  void apply(uint8_t type, std::string_view payload) override { state.apply(type, payload); }
  void write_snapshot(const journal::EmitRecord& emit) override;
  RecoveryState state;
};

}  // namespace zfleet::broker
