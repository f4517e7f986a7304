#include "broker/live_table.h"

#include <bit>

#include <xxhash.h>

#include "broker/metrics.h"

namespace zfleet::broker {

LiveTable::LiveTable(std::size_t shards) {
  std::size_t n = std::bit_ceil(shards == 0 ? 1 : shards);
  shards_ = std::make_unique<Shard[]>(n);
  mask_ = n - 1;
}

LiveTable::Shard& LiveTable::shard_for(std::string_view id) const {
  return shards_[XXH3_64bits(id.data(), id.size()) & mask_];
}

bool LiveTable::insert(Task* task) {
  Shard& s = shard_for(task->id);
  std::lock_guard lock(s.mu);
  if (!s.map.emplace(std::string_view(task->id), task).second) return false;
  count_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

LiveTable::Admission LiveTable::admit(Task* task, const ResultCache& cache, uint64_t now_ms,
                                      uint64_t max_live) {
  // Reserve first: the count is shared by every shard, and checking it
  // under one shard's lock would let two intake threads both take the last
  // place.
  if (!Metrics::reserve(count_, max_live)) return Admission::full;
  Shard& s = shard_for(task->id);
  std::lock_guard lock(s.mu);
  if (s.map.contains(std::string_view(task->id)) || cache.contains(task->id, now_ms)) {
    count_.fetch_sub(1, std::memory_order_relaxed);
    return Admission::duplicate;
  }
  s.map.emplace(std::string_view(task->id), task);
  return Admission::inserted;
}

void LiveTable::erase(std::string_view id) {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  count_.fetch_sub(s.map.erase(id), std::memory_order_relaxed);
}

std::optional<common::TaskState> LiveTable::state(std::string_view id) const {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return std::nullopt;
  return it->second->state;
}

std::optional<LiveView> LiveTable::view(std::string_view id) const {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return std::nullopt;
  return LiveView{it->second->state, it->second->run_after_us};
}

Task* LiveTable::find(std::string_view id) const {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(id);
  return it == s.map.end() ? nullptr : it->second;
}

void LiveTable::set_state(Task* task, common::TaskState st, uint64_t run_after_us) {
  Shard& s = shard_for(task->id);
  std::lock_guard lock(s.mu);
  task->state = st;
  task->run_after_us = run_after_us;
}

std::optional<common::TaskState> LiveTable::watch(std::string_view id, unsigned thread) {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return std::nullopt;
  it->second->waiters |= uint64_t{1} << thread;
  return it->second->state;
}

uint64_t LiveTable::finish(Task* task) {
  Shard& s = shard_for(task->id);
  std::lock_guard lock(s.mu);
  count_.fetch_sub(s.map.erase(std::string_view(task->id)), std::memory_order_relaxed);
  uint64_t w = task->waiters;
  task->waiters = 0;
  return w;
}

uint64_t LiveTable::finish(Task* task, ResultCache& cache, ResultCache::RecordPtr rec,
                           uint64_t now_ms) {
  Shard& s = shard_for(task->id);
  std::lock_guard lock(s.mu);
  cache.put(std::move(rec), now_ms);
  count_.fetch_sub(s.map.erase(std::string_view(task->id)), std::memory_order_relaxed);
  uint64_t w = task->waiters;
  task->waiters = 0;
  return w;
}

}  // namespace zfleet::broker
