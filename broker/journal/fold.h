// Fold: what the journal replays records into. The journal layer knows no
// record contents; the broker implements a Fold over its own record types.
//
// Contract:
// - apply() is called once per record, in journal order: the snapshot's
//   records first, then those of each later segment. Types 1..255 are the
//   caller's; type 0 is the journal's own (snapshot meta) and never reaches
//   a Fold. A payload view is valid only during the call.
// - write_snapshot() calls `emit` with the records that, applied in order to
//   a fresh fold, reproduce this fold's state (typically far fewer than were
//   applied: one per live entry). It must not emit type 0. It may be called
//   at any time between applies, on the thread that owns the fold.
// - A FoldFactory makes a fresh, empty fold; the compactor folds snapshot +
//   closed segments into one, on its own thread, and never touches the
//   broker's live fold. So a factory's folds must share no mutable state
//   with the broker's.
//
// Thread safety: a Fold is used by one thread at a time (replay runs on the
// caller's thread; a compactor's fold lives on the compaction thread). The
// factory is called on the compaction thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace zfleet::broker::journal {

using EmitRecord = std::function<void(uint8_t type, std::string_view payload)>;

class Fold {
 public:
  virtual ~Fold() = default;
  virtual void apply(uint8_t type, std::string_view payload) = 0;
  virtual void write_snapshot(const EmitRecord& emit) = 0;
};

using FoldFactory = std::function<std::unique_ptr<Fold>()>;

}  // namespace zfleet::broker::journal
