#include "broker/live_table.h"

#include <bit>

#include <xxhash.h>

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
  return s.map.emplace(std::string_view(task->id), task).second;
}

void LiveTable::erase(std::string_view id) {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  s.map.erase(id);
}

std::optional<common::TaskState> LiveTable::state(std::string_view id) const {
  Shard& s = shard_for(id);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return std::nullopt;
  return it->second->state;
}

void LiveTable::set_state(Task* task, common::TaskState st) {
  Shard& s = shard_for(task->id);
  std::lock_guard lock(s.mu);
  task->state = st;
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
  s.map.erase(std::string_view(task->id));
  uint64_t w = task->waiters;
  task->waiters = 0;
  return w;
}

std::size_t LiveTable::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].map.size();
  }
  return n;
}

}  // namespace zfleet::broker
