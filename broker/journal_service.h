// JournalService: the broker's journal (issue 10) from start to stop. At
// start, on the main thread and before any serving thread exists, it
// replays broker.journal.path into the broker (journal/reader.h folded by
// RecoveryFold, then RecoveryState::restore); then it runs the journal
// thread (journal/writer.h: group commit under broker.journal.fsync) and
// the compaction thread (journal/compactor.h: snapshot plus tail, so the
// directory stays about the size of what the broker holds).
//
// The dispatcher is the journal's one producer (TaskJournal, over
// kJournalIn / kJournalDurable). stop() must come after the dispatcher has
// sent its last batch and before the ZeroMQ context is shut down.
//
// Thread safety: every method from the broker's main thread.
#pragma once

#include <memory>

#include "broker/broker_state.h"
#include "broker/journal/compactor.h"
#include "broker/journal/reader.h"
#include "broker/journal/writer.h"
#include "broker/recovery.h"

namespace zfleet::broker {

class JournalService {
 public:
  explicit JournalService(BrokerState& st);
  ~JournalService();
  JournalService(const JournalService&) = delete;
  JournalService& operator=(const JournalService&) = delete;

  // Replays the journal into st (live table, cache, metrics) and fills
  // st.journal for `status`. The tasks and runs go to the dispatcher.
  RecoveryState::Restored recover();
  void start();
  void stop();

 private:
  RecoveryLimits limits() const;

  BrokerState& st_;
  journal::JournalStats stats_;
  journal::ReplayReport report_;
  std::unique_ptr<journal::JournalWriter> writer_;
  std::unique_ptr<journal::Compactor> compactor_;
};

}  // namespace zfleet::broker
