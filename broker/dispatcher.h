// Dispatcher: the broker thread that moves tasks to workers and results
// back (DESIGN decisions 1-2).
//
// Owns (all used by the dispatcher thread only):
//   backend ROUTER   (bound at broker.backend)  tasks out, results in
//   status SUB       (bound at broker.status)   worker heartbeats
//   dispatch PULL    (inproc)                   Task* batches from intake
//   control PULL     (inproc)                   CLEAR, DRAIN, STOP
//   notify PUSH x N  (inproc)                   finished tasks to result threads,
//                                                batched per loop pass (notices_)
//   the per-type queues, the worker registry, the scheduler index, the
//   deadline heap, and every Task handed to it.
//
// Contract: a task is sent the moment a worker of its type has a free slot;
// a worker never holds more than its capacity; a worker silent for
// `liveness` heartbeats is dead and its tasks are requeued at the head of
// their queue (or fail with worker_lost past max_retries); a task past its
// timeout fails with `timeout` while its worker keeps the slot until it
// answers. Every accepted task ends with exactly one ResultRecord.
//
// Thread safety: start() and join() from the owning (main) thread; all
// other work happens on the dispatcher's own thread.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/handoff.h"
#include "broker/scheduler.h"
#include "common/frames.h"

namespace zfleet::broker {

class Dispatcher {
 public:
  explicit Dispatcher(BrokerState& state);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the thread; returns once its sockets are bound (throws the bind
  // error otherwise).
  void start();
  void join();

 private:
  void run();
  void bind_sockets();
  void loop();
  // dispatcher.cpp
  void on_intake();
  void on_control();
  void dispatch_ready();
  bool send_task(WorkerEntry* w, Task* t);
  void enqueue(Task* t, bool at_head);
  void finish(Task* t, common::ResultRecord rec, bool keep_in_ledger = false);
  void fail(Task* t, common::TaskErrorCode code, std::string message);
  void check_deadlines(uint64_t now);
  void send_notices();
  // dispatcher_workers.cpp
  void on_backend();
  void on_status();
  void on_ready(const std::string& rid, const common::Frames& frames);
  void on_result(WorkerEntry* w, const common::Frames& frames);
  void update_capacity(WorkerEntry* w, uint64_t run_us);
  void worker_lost(WorkerEntry* w, const char* why);
  void check_liveness(uint64_t now);
  void maybe_resync(const std::string& rid);
  void publish_board(uint64_t now);
  void broadcast_clear(const common::Frames& clear);
  void send_to_worker(const std::string& rid, common::Frames frames);
  WorkerEntry* find_worker(const std::string& id);

  BrokerState& st_;
  std::thread thread_;
  std::exception_ptr start_error_;

  zmq::socket_t backend_, status_, intake_, control_;
  std::vector<zmq::socket_t> notify_;
  std::vector<RecordBatch> notices_;  // per result thread, sent by send_notices()
  common::Message msg_;  // reused receive buffer

  std::deque<Task*> queues_[common::kTaskTypeCount];
  std::map<std::string, std::unique_ptr<WorkerEntry>, std::less<>> workers_;
  Scheduler scheduler_;
  std::unordered_map<std::string, uint64_t> resync_sent_;  // worker id -> last RESYNC (us)
  uint64_t next_deadline_check_us_ = 0;
  uint64_t next_dispatch_ = 0;
  uint32_t prefetch_;
  uint64_t liveness_us_;
  uint64_t dead_retention_us_;
  uint64_t next_liveness_check_us_ = 0;
  uint64_t next_board_us_ = 0;
  uint64_t next_sweep_us_ = 0;
  bool stop_ = false;
};

}  // namespace zfleet::broker
