// LiveTable: every task that is queued or running, by id (DESIGN decision 4:
// live tasks are tracked apart from the result cache, with their own locks).
//
// Owns: the index only (id -> Task*); Tasks are owned by the dispatcher (see
// task.h). Keys are views into Task::id, so a Task must be erased from the
// table before it is deleted.
//
// Contract: insert() refuses an id already present (duplicate_id). watch()
// lets a result thread register interest in a live task atomically with
// reading its state, so a completion can never slip between "look" and
// "wait". finish() removes the task and returns the waiter bits to notify.
//
// Thread safety: internally synchronized (one mutex per shard); every method
// may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/task.h"

namespace zfleet::broker {

class LiveTable {
 public:
  explicit LiveTable(std::size_t shards = 64);
  LiveTable(const LiveTable&) = delete;
  LiveTable& operator=(const LiveTable&) = delete;

  bool insert(Task* task);                 // false: id already live
  void erase(std::string_view id);         // undo an insert (intake only)
  std::optional<common::TaskState> state(std::string_view id) const;
  void set_state(Task* task, common::TaskState s);
  // Registers result thread `thread` as a waiter; nullopt when not live.
  std::optional<common::TaskState> watch(std::string_view id, unsigned thread);
  // Removes the task; returns its waiter bits.
  uint64_t finish(Task* task);
  std::size_t size() const;

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string_view, Task*> map;  // guarded by mu
  };
  Shard& shard_for(std::string_view id) const;

  std::unique_ptr<Shard[]> shards_;
  std::size_t mask_;
};

}  // namespace zfleet::broker
