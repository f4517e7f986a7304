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
  return index_[static_cast<int>(w->info.type)];
}

void Scheduler::remove(WorkerEntry* w) {
  if (!w->indexed) return;
  index(w).erase(w);  // the key fields have not changed since insertion
  w->indexed = false;
}

void Scheduler::refresh(WorkerEntry* w) {
  remove(w);
  w->update_refill();
  if (w->alive && !w->stopping && w->has_free_slot()) {
    index(w).insert(w);
    w->indexed = true;
  }
}

WorkerEntry* Scheduler::pick(common::TaskType type) const {
  const auto& idx = index_[static_cast<int>(type)];
  return idx.empty() ? nullptr : *idx.begin();
}

void Scheduler::dispatched(WorkerEntry* w, Task* task, uint64_t now_us) {
  remove(w);  // before the key fields change
  w->ledger.emplace(std::string_view(task->id), task);
  w->last_dispatch_us = now_us;
  refresh(w);
}

Task* Scheduler::returned(WorkerEntry* w, std::string_view task_id) {
  auto it = w->ledger.find(task_id);
  if (it == w->ledger.end()) return nullptr;
  remove(w);
  Task* t = it->second;
  w->ledger.erase(it);
  refresh(w);
  return t;
}

std::size_t Scheduler::indexed(common::TaskType type) const {
  return index_[static_cast<int>(type)].size();
}

}  // namespace zfleet::broker
