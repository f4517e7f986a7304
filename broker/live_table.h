// LiveTable: every task that is queued or running, by id (DESIGN decision 4:
// live tasks are tracked apart from the result cache, with their own locks).
//
// Owns: the index only (id -> Task*); Tasks are owned by the dispatcher (see
// task.h). Keys are views into Task::id, so a Task must be erased from the
// table before it is deleted.
//
// Contract: insert() refuses an id already present (duplicate_id); the
// variant with a cache also refuses an id whose result is cached, checked
// under the same shard lock that finish() holds while it moves a task's
// record into the cache, so "live or cached" is one atomic question and a
// refused duplicate never touches the table (nor the waiter bits of a get
// that raced with it). admit() does the same and also holds the table to
// broker.max_live tasks: a place is reserved in an atomic count before the
// shard lock is taken, so concurrent intake threads can never overshoot it.
// watch() lets a result thread register interest in a live task
// atomically with reading its state, so a completion can never slip
// between "look" and "wait". finish() removes the task and returns
// the waiter bits to notify. find() returns the Task itself: for the
// dispatcher thread only, which owns every Task (task.h).
//
// Lock order: a LiveTable shard lock, then a ResultCache shard lock; never
// the other way round (the cache never calls back here).
//
// Thread safety: internally synchronized (one mutex per shard); every method
// may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/result_cache.h"
#include "broker/task.h"

namespace zfleet::broker {

// What a result thread may read of a live task.
struct LiveView {
  common::TaskState state;
  uint64_t run_after_us;  // pending: when it becomes runnable (0: it is)
};

class LiveTable {
 public:
  enum class Admission { inserted, duplicate, full };

  explicit LiveTable(std::size_t shards = 64);
  LiveTable(const LiveTable&) = delete;
  LiveTable& operator=(const LiveTable&) = delete;

  bool insert(Task* task);                 // false: id already live
  // false: id already live, or cached (not expired at now_ms).
  bool insert(Task* task, const ResultCache& cache, uint64_t now_ms) {
    return admit(task, cache, now_ms, UINT64_MAX) == Admission::inserted;
  }
  // `full`: the table already holds max_live tasks; nothing was inserted.
  Admission admit(Task* task, const ResultCache& cache, uint64_t now_ms, uint64_t max_live);
  void erase(std::string_view id);         // undo an insert (tests)
  std::optional<common::TaskState> state(std::string_view id) const;
  std::optional<LiveView> view(std::string_view id) const;
  Task* find(std::string_view id) const;   // dispatcher thread only
  void set_state(Task* task, common::TaskState s, uint64_t run_after_us = 0);
  // Registers result thread `thread` as a waiter; nullopt when not live.
  std::optional<common::TaskState> watch(std::string_view id, unsigned thread);
  // Removes the task; returns its waiter bits.
  uint64_t finish(Task* task);
  // Puts `rec` in `cache`, then removes the task, under one shard lock;
  // returns its waiter bits.
  uint64_t finish(Task* task, ResultCache& cache, ResultCache::RecordPtr rec, uint64_t now_ms);
  // Tasks in the table (exact once concurrent inserts have returned).
  std::size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string_view, Task*> map;  // guarded by mu
  };
  Shard& shard_for(std::string_view id) const;

  std::unique_ptr<Shard[]> shards_;
  std::size_t mask_;
  std::atomic<uint64_t> count_{0};  // reserved by admit() (Metrics::reserve)
};

}  // namespace zfleet::broker
