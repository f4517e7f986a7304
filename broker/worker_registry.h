// WorkerRegistry: every worker the broker knows (alive, or dead for a
// while so `status` can show it), the Scheduler index over them, and each
// one's ledger of slots (worker_entry.h). It answers "who joined, who is
// alive, who gets the next task" and keeps slot accounting exact; it knows
// nothing of task states (TaskLifecycle does).
//
// Contract:
// - Identity: a worker id is bound to the backend connection (routing id,
//   "route") its READY came on; the dispatcher refuses a READY under a live
//   worker's id from another route while the old one still answers.
// - join() registers a READY. The same process again (same non-zero
//   incarnation) while alive changes nothing; while dead (declared lost
//   while hung, now back) it is revived WITH its ledger: the dispatches it
//   still runs keep their slots until it answers them, so it cannot be
//   sent past its capacity. Any other READY makes a fresh entry; the caller
//   must first report an alive old entry lost (TaskLifecycle::worker_lost).
// - occupy()/release() record dispatch d sent to / answered by a worker;
//   release() is false when that worker held no slot for d (a duplicate,
//   or an answer from before a restart), and then changes nothing.
// - mark_dead() takes a worker out of routing; its slots are kept (it may
//   come back, see join) unless `free_slots` (it said GONE: it is exiting).
// - overdue() lists live workers silent for longer than the liveness
//   window, and forgets dead ones past their retention.
//
// Thread safety: dispatcher thread only; not synchronized.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/scheduler.h"
#include "broker/worker_board.h"
#include "broker/worker_entry.h"

namespace zfleet::broker {

struct RegistryOptions {
  uint32_t prefetch = 32;
  uint64_t liveness_us = 1'000'000;
  uint64_t dead_retention_us = 2'250'000;
  uint64_t resync_interval_us = 250'000;
  uint32_t max_threads = 1024;  // a larger READY claim is capped
};

// What a heartbeat turned out to be.
enum class HeartbeatFrom { worker, unknown, forged };

class WorkerRegistry {
 public:
  explicit WorkerRegistry(RegistryOptions o) : opts_(o) {}

  WorkerEntry* find(std::string_view id);
  // The worker whose backend connection has routing id `route`.
  WorkerEntry* find_route(std::string_view route);
  // Registers a READY that came on connection `route` (the worker id is
  // bound to it from then on: only that connection speaks for the worker).
  // `pool`: the id of info.pool (the caller checked it is configured).
  WorkerEntry* join(common::WorkerInfo info, std::string route, uint64_t now_us,
                    common::PoolId pool = common::kIoPool);
  WorkerEntry* pick(common::PoolId pool) const { return scheduler_.pick(pool); }
  void occupy(WorkerEntry* w, uint64_t d, uint64_t now_us) { scheduler_.dispatched(w, d, now_us); }
  // Frees w's slot for d; `run_us` feeds the run-time average behind prefetch.
  bool release(WorkerEntry* w, uint64_t d, uint64_t run_us);
  void mark_dead(WorkerEntry* w, uint64_t now_us, bool free_slots);
  void stopping(WorkerEntry* w);
  // A live worker by process id on `host` (a local worker of the supervisor).
  WorkerEntry* find_local(int64_t pid, const std::string& host);
  // Retiring (a scale-down's drain): out of the scheduler, or back in.
  void set_retiring(WorkerEntry* w, bool retiring);
  // A heartbeat: from the live worker it names (with the token of its
  // WELCOME), from a worker not known alive (RESYNC it), or forged (a
  // wrong token: ignored, it keeps nobody alive).
  HeartbeatFrom heartbeat(common::Heartbeat hb, uint64_t now_us);
  void seen(WorkerEntry* w, uint64_t now_us) { w->last_seen_us = now_us; }
  // Live workers silent past the liveness window, or unhealthy: holding
  // slots while their heartbeats said for a whole window that they run and
  // queue nothing (tasks lost on the way, or a worker that takes tasks and
  // never answers). Also forgets dead workers past their retention.
  struct Overdue {
    WorkerEntry* worker;
    const char* why;
  };
  std::vector<Overdue> overdue(uint64_t now_us);
  // The earliest time overdue() could find something (a live worker's
  // silence passing the liveness window, an unhealthy one's, a dead one's
  // retention ending); UINT64_MAX with no worker. O(workers).
  uint64_t next_deadline_us() const;
  // True when a RESYNC may be sent to `route` now (at most one per interval,
  // so a returning worker's backlog does not make it register many times).
  bool may_resync(const std::string& route, uint64_t now_us);
  // The RESYNC may_resync allowed could not be sent: forget it.
  void forget_resync(const std::string& route) { resync_sent_.erase(route); }
  std::vector<std::string> alive_routes() const;
  std::vector<BoardEntry> board() const;
  std::size_t size() const { return workers_.size(); }

 private:
  RegistryOptions opts_;
  std::map<std::string, std::unique_ptr<WorkerEntry>, std::less<>> workers_;
  std::unordered_map<std::string, WorkerEntry*> routes_;  // route -> its entry in workers_
  Scheduler scheduler_;
  std::unordered_map<std::string, uint64_t> resync_sent_;  // route -> last RESYNC (us)
  std::mt19937_64 rng_{std::random_device{}()};          // WELCOME tokens
};

}  // namespace zfleet::broker
