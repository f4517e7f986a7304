// Scheduler: least-loaded routing that cannot herd (DESIGN decision 1).
//
// For each task type it keeps an ordered index of the live workers that have
// a free slot, keyed by (in-flight / capacity, last dispatch time, id): the
// first entry is the worker with the lowest load ratio and, among equals, the
// one unused for longest. pick() is O(1), every update O(log n). A worker at
// capacity is not in the index, so no worker is ever sent more than its
// capacity; one that is dead or stopping is never indexed.
//
// The in-flight figure is the broker's own ledger (exact, updated on every
// dispatch and result), not the heartbeat's, which lags and can be lost.
//
// Thread safety: dispatcher thread only.
#pragma once

#include <cstdint>
#include <set>

#include "broker/worker_entry.h"

namespace zfleet::broker {

class Scheduler {
 public:
  // (Re)evaluates `w` after any change the scheduler did not make itself
  // (joined, died, said BYE): indexes it when alive with a free slot.
  void refresh(WorkerEntry* w);
  void remove(WorkerEntry* w);
  // The least-loaded worker of `type` with a free slot, or nullptr.
  WorkerEntry* pick(common::PoolId pool) const;
  // Records dispatch `d` sent to / answered by `w`; `ledger` changes are
  // made here so the index key and the ledger never disagree. returned()
  // is false (and changes nothing) when `w` held no slot for `d`.
  void dispatched(WorkerEntry* w, uint64_t d, uint64_t now_us);
  bool returned(WorkerEntry* w, uint64_t d);
  std::size_t indexed(common::PoolId pool) const;

 private:
  struct Less {
    bool operator()(const WorkerEntry* a, const WorkerEntry* b) const;
  };
  std::set<WorkerEntry*, Less>& index(const WorkerEntry* w);
  std::set<WorkerEntry*, Less> index_[common::kMaxPools];
};

}  // namespace zfleet::broker
