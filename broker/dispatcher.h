// Dispatcher: the broker thread that wires the task lifecycle to its
// sockets (DESIGN decisions 1, 2 and 8). The state machine itself is
// TaskLifecycle; the workers, their slots and routing are WorkerRegistry;
// this class only moves messages between sockets and those two.
//
// Owns (all used by the dispatcher thread only):
//   backend ROUTER   (bound at broker.backend)  tasks and cancels out, results in
//   status SUB       (bound at broker.status)   worker heartbeats
//   dispatch PULL    (inproc)                   Task* batches from intake
//   control PULL     (inproc)                   CLEAR, CANCEL, DRAIN, STOP
//   notify PUSH x N  (inproc)                   Notices to result threads, one per
//                                                thread per loop pass at most
//   with the journal on: journal PUSH (records out, once per pass), durable
//   PULL (durability reports in), and one PUSH per intake thread (ack tokens)
//   the WorkerRegistry, the TaskJournal, the TaskFinisher and the TaskLifecycle.
// With one intake and one result thread (serves_clients_inline) there are
// no intake or result threads and no notify or ack PUSHes: the dispatcher
// owns the public frontend and results ROUTERs itself (InlineClients), and
// batches, notices, cancels, clears and acks are calls on this thread.
//
// Contract: sleeps until a socket is readable or the next timer is due (a
// delayed task, a retry's backoff, a run's deadline), a liveness check or a
// status board refresh. A CLEAR acknowledged to a client reaches the
// workers before any task submitted after that acknowledgement: control is
// read again after intake, before anything is dispatched. A serving error
// that escapes the loop ends the process (common::die), never just this
// thread.
//
// Thread safety: start() and join() from the owning (main) thread; all
// other work happens on the dispatcher's own thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/handoff.h"
#include "broker/inline_clients.h"
#include "broker/task_lifecycle.h"
#include "common/frames.h"

namespace zfleet::broker {

class Dispatcher final : private TaskSender, private TaskSink, private ControlSink {
 public:
  explicit Dispatcher(BrokerState& state);
  // Tasks restored from the journal (recovery.h), accepted by the dispatcher
  // thread before it serves anything else. Call before start().
  void adopt(std::vector<Task*> tasks, std::vector<RecoveredRun> runs) {
    adopted_ = std::move(tasks);
    lifecycle_.adopt_runs(std::move(runs));
  }
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the thread; returns once its sockets are bound (throws the bind
  // error otherwise).
  void start();
  void join();

 private:
  // How many messages one poll round takes from each source before looking
  // at the others, so a flood on one socket cannot starve the rest.
  static constexpr int kBurst = 256;

  // dispatcher.cpp: the loop and the in-process side
  void run();
  void bind_sockets();
  void loop();
  enum class Source { control, backend, intake, status, durable, results, frontend };
  void on_readable(Source source);
  void pass(uint64_t now_us);
  long poll_timeout_ms(uint64_t now_us) const;
  void stopping();
  void flush_journal();
  // dispatcher_inproc.cpp: what other broker threads (or InlineClients) hand over
  void on_intake();
  void on_control();
  void on_durable();
  void send_notices();
  void take_tasks(const std::vector<Task*>& batch, std::optional<AckRequest> ack) override;
  void clear_scripts(common::Frames clear) override;
  void request_cancel(const CancelRequest& req) override;
  void retire(int64_t pid, bool retire);
  void stop_retired();
  // dispatcher_link.cpp: the worker side
  void on_backend();
  void on_worker_message(const std::string& rid, common::LinkCmd cmd, const common::Frames& f);
  void on_ready(const std::string& rid, const common::Frames& frames);
  void on_result(WorkerEntry* w, const common::Frames& f, uint64_t now_us);
  void on_status();
  void check_liveness(uint64_t now_us);
  void maybe_resync(const std::string& rid);
  void refuse(const std::string& rid, const common::WorkerInfo& info);
  void broadcast_clear(const common::Frames& clear);
  bool send_to_worker(const std::string& rid, common::Frames frames);  // false: not queued
  bool send_task(WorkerEntry& w, const Task& t, uint64_t d) override;
  void send_cancel(WorkerEntry& w, uint64_t d) override;

  BrokerState& st_;
  std::thread thread_;
  zmq::socket_t backend_, status_, intake_, control_;
  std::vector<zmq::socket_t> notify_;
  zmq::socket_t journal_out_, journal_in_;  // journal on only
  std::vector<zmq::socket_t> intake_acks_;  // journal on only
  std::unique_ptr<InlineClients> clients_;  // serves_clients_inline only
  common::Message msg_;  // reused receive buffer
  WorkerRegistry registry_;
  TaskJournal journal_;
  TaskFinisher finisher_;
  TaskLifecycle lifecycle_;
  uint64_t next_liveness_check_us_ = 0;
  // registry_.next_deadline_us() at the last liveness pass, moved earlier
  // when a worker joins: the only worker timer the poll waits for.
  uint64_t liveness_deadline_us_ = UINT64_MAX;
  uint64_t next_board_us_ = 0;
  uint64_t next_sweep_us_ = 0;
  std::vector<Task*> adopted_;
  static constexpr std::size_t kMaxRefusedRemembered = 1024;
  std::unordered_set<std::string> refused_;  // id + NUL + pool of each refused worker logged
  bool stop_ = false;
  std::string local_host_;                 // this machine's name: local workers' `host`
  std::unordered_set<std::string> retiring_;  // ids of workers draining for a scale-down
};

}  // namespace zfleet::broker
