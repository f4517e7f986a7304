// Recycler: decides when a worker process should make way for a fresh one
// (workers.<pool>.max_tasks_per_process / --max-tasks, max_rss_mb /
// --max-rss-mb), as Celery's max-tasks-per-child and max-memory-per-child
// do: task code that leaks memory or state is bounded by restarting the
// process, not by trusting the code.
//
// Contract: check() is pure: given how many tasks this process has started
// and its resident memory now (0 = not measured this time), it returns
// nullopt to keep going or the reason to recycle, for the log. A limit of 0
// is off. How the worker acts on it (no new task, queued tasks given back
// to the broker with RETURN, running ones finished, exit kExitRecycled) is
// in worker.h.
//
// Thread safety: a plain value; rss_bytes() is a function safe anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace zfleet::worker {

struct RecyclePolicy {
  uint64_t max_tasks = 0;      // 0 = no limit
  uint64_t max_rss_bytes = 0;  // 0 = no limit
};

class Recycler {
 public:
  explicit Recycler(RecyclePolicy policy) : policy_(policy) {}

  bool enabled() const { return policy_.max_tasks > 0 || policy_.max_rss_bytes > 0; }
  bool watches_rss() const { return policy_.max_rss_bytes > 0; }

  std::optional<std::string> check(uint64_t tasks_started, uint64_t rss_bytes) const;

 private:
  RecyclePolicy policy_;
};

// This process's resident memory, from /proc/self/statm (0 if unreadable).
uint64_t rss_bytes();

}  // namespace zfleet::worker
