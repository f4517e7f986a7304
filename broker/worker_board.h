// WorkerBoard: the dispatcher's latest view of the worker fleet, published
// for `status` requests served on result threads (which must not touch the
// dispatcher's registry). Times are absolute (steady clock, us), so a reader
// computes "ms since last heartbeat" at the moment it answers.
//
// Thread safety: internally synchronized; publish() from the dispatcher,
// read() from any thread. A reader gets an immutable shared snapshot.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <mutex>
#include <vector>

#include "common/status.h"

namespace zfleet::broker {

struct BoardEntry {
  common::WorkerStatus status;  // last_heartbeat_ms unset: see heartbeat_us
  uint64_t heartbeat_us = 0;
  bool leaving = false;  // said BYE, or retiring for a scale-down: takes no new tasks
};

class WorkerBoard {
 public:
  using Snapshot = std::shared_ptr<const std::vector<BoardEntry>>;
  void publish(std::vector<BoardEntry> entries) {
    auto snap = std::make_shared<const std::vector<BoardEntry>>(std::move(entries));
    std::lock_guard lock(mu_);
    snap_ = std::move(snap);
  }
  Snapshot read() const {
    std::lock_guard lock(mu_);
    return snap_;
  }

 private:
  mutable std::mutex mu_;
  Snapshot snap_ = std::make_shared<const std::vector<BoardEntry>>();  // guarded by mu_
};

// LocalWorkerBoard: the supervisor's view of the local worker processes
// (restarts, crash loops), published from the main thread for `status`.
// Thread safety: internally synchronized.
// It also holds each adaptive pool's scaling state (pool_scaler.h), by pool name.
class LocalWorkerBoard {
 public:
  void publish(std::vector<common::LocalWorkerStatus> v) {
    std::lock_guard lock(mu_);
    entries_ = std::move(v);
  }
  std::vector<common::LocalWorkerStatus> read() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  void publish_scaling(std::map<std::string, common::PoolScaling> v) {
    std::lock_guard lock(mu_);
    scaling_ = std::move(v);
  }
  std::map<std::string, common::PoolScaling> read_scaling() const {
    std::lock_guard lock(mu_);
    return scaling_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<common::LocalWorkerStatus> entries_;          // guarded by mu_
  std::map<std::string, common::PoolScaling> scaling_;      // guarded by mu_
};

}  // namespace zfleet::broker
