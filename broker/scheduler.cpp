#include "broker/scheduler.h"

namespace zfleet::broker {

bool Scheduler::Less::operator()(const WorkerEntry* a, const WorkerEntry* b) const {
  // Compare in-flight/capacity ratios exactly, by cross-multiplying.
  uint64_t la = uint64_t{a->inflight()} * b->capacity;
  uint64_t lb = uint64_t{b->inflight()} * a->capacity;
  if (la != lb) return la < lb;
  if (a->last_dispatch_us != b->last_dispatch_us) return a->last_dispatch_us < b->last_dispatch_us;
  return a->info.id < b->info.id;
}

std::set<WorkerEntry*, Scheduler::Less>& Scheduler::index(const WorkerEntry* w) {
  return index_[w->pool];
}

void Scheduler::remove(WorkerEntry* w) {
  if (!w->indexed) return;
  index(w).erase(w);  // the key fields have not changed since insertion
  w->indexed = false;
}

void Scheduler::refresh(WorkerEntry* w) {
  remove(w);
  w->update_refill();
  if (w->alive && !w->stopping && !w->retiring && w->has_free_slot()) {
    index(w).insert(w);
    w->indexed = true;
  }
}

WorkerEntry* Scheduler::pick(common::PoolId pool) const {
  const auto& idx = index_[pool];
  return idx.empty() ? nullptr : *idx.begin();
}

void Scheduler::dispatched(WorkerEntry* w, uint64_t d, uint64_t now_us) {
  remove(w);  // before the key fields change
  w->ledger.insert(d);
  w->last_dispatch_us = now_us;
  refresh(w);
}

bool Scheduler::returned(WorkerEntry* w, uint64_t d) {
  auto it = w->ledger.find(d);
  if (it == w->ledger.end()) return false;
  remove(w);
  w->ledger.erase(it);
  refresh(w);
  return true;
}

std::size_t Scheduler::indexed(common::PoolId pool) const {
  return index_[pool].size();
}

}  // namespace zfleet::broker
