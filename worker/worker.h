// Worker: one zfleet-worker process's link to the broker. Its I/O thread
// creates, uses and closes all three of its sockets: the backend DEALER
// (routing id = the random route; tasks in, control both ways, and the
// RESULTs of tasks cancelled before they started), the status PUB
// (heartbeats every heartbeat_ms), and an inproc PULL on which stop()
// wakes it. Pool threads send their own RESULTs on DEALERs of their own
// (thread_pool.h), so a finished task does not wake this thread. It never
// touches Python, so a task holding the GIL cannot delay a heartbeat
// (DESIGN decision 2).
//
// Contract:
// - start() returns once the I/O thread has its sockets (it throws when they
//   cannot be made, e.g. a bad endpoint); the I/O thread then sends READY.
//   On RESYNC (the broker does not know it, e.g. after a broker restart) it
//   sends READY again (and BYE again when it is stopping). CLEAR is passed
//   to the TaskRunner without waiting for Python.
// - CANCEL d: a task with dispatch d still queued here is taken out and
//   answered at once (`cancelled`, "cancelled before it started", run_us 0);
//   a running one is interrupted (ThreadPool::cancel: builtins stop, a
//   Python call gets zfleet.TaskCancelled through the watchdog thread) and
//   answers `cancelled`, or its normal RESULT if it finished first; one
//   blocked in C counts as stuck from the cancel, so kill_grace_ms recycles
//   the worker as for a timeout. An unknown d (already answered) is ignored.
// - Drain, on stop() or on the broker's STOP: the I/O thread sends BYE and
//   keeps serving: it heartbeats, runs TASKs that still arrive (the broker
//   sent them before it handled the BYE), honours CANCEL, sends results. It
//   ends once BYE_ACK has arrived (no TASK can follow it on the pipe) AND
//   every task it holds has been answered; or when drain_timeout_ms has
//   passed; or at once when the broker process it was started by is gone
//   (parent_pid), since then nobody can acknowledge or take the results.
//   Tasks still queued at that point are dropped (the broker requeues them
//   when it loses this worker); stop() then joins the pool, which waits for
//   the ones running.
// - A task stuck past timeout + kill_grace_ms (or cancel + kill_grace_ms)
//   makes the worker send GONE and exit with kRecycleExit.
// - Recycling (recycler.h): once this process has started max_tasks tasks
//   (the TaskQueue hands out no more), or its RSS passes max_rss_mb (read
//   from /proc/self/statm at most every kRssCheckUs and on heartbeat
//   ticks), it stops taking tasks (TaskQueue::hold) and drains as above,
//   except that every task it holds but has not started, and every TASK
//   still arriving before BYE_ACK, goes back to the broker at once (RETURN:
//   requeued as never sent, no attempt or loss counted), instead of being
//   run. Running tasks finish; then exit_code() is common::kExitRecycled and
//   its supervisor starts a fresh process at once.
// - A worker that, with no task, uses more than idle_cpu_percent of a core
//   over idle_cpu_window_ms (a thread left behind by a task is looping;
//   idle_cpu.h) stops itself: it drains as above and then exit_code() is
//   kIdleCpuExit, so that its supervisor starts a fresh process.
// - Fail loudly (DESIGN decision 9): an exception escaping the I/O loop
//   ends the process at once with common::die (exit 70), as does one in a
//   pool thread (thread_pool.h); a process without its I/O thread would
//   look alive to nobody yet hold its tasks. fault_point("worker-io") runs
//   once per loop pass so tests can inject that.
//
// Thread safety: start()/stop() and the destructor from the owning (main)
// thread; everything else runs on the I/O thread.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/curve_keys.h"
#include "common/socket_poller.h"
#include "common/worker_link.h"
#include "worker/idle_cpu.h"
#include "worker/recycler.h"
#include "worker/thread_pool.h"

namespace zfleet::worker {

struct WorkerOptions {
  std::string id;
  std::string pool = "io";  // the pool it serves (--type)
  int threads = 1;
  std::string backend, status;
  common::CurveOptions curve;  // empty: no CURVE (backend and status alike)
  int heartbeat_ms = 250;
  // On stop: how long the drain may take (BYE_ACK and the held tasks).
  uint64_t drain_timeout_ms = 30000;
  // A task this long past its timeout (or its cancel) is stuck where no
  // interrupt can reach it (C code): the process exits (code kRecycleExit)
  // so that its supervisor starts a fresh one and the slot comes back.
  // 0 = never.
  uint64_t kill_grace_ms = 5000;
  // A result larger than this fails with unserializable_result instead of
  // being sent (the broker would refuse it): broker.max_message_bytes.
  uint64_t max_result_bytes = 16 << 20;
  // The broker process that started this worker (--parent-pid), 0 = none:
  // once it is gone a drain waits for nothing.
  long parent_pid = 0;
  // Idle CPU recycling (idle_cpu.h): the limit in percent of one core (0 =
  // off) and the window it is measured over.
  uint32_t idle_cpu_percent = 50;
  uint64_t idle_cpu_window_ms = 2000;
  // Recycling (recycler.h): 0 = off.
  uint64_t max_tasks = 0;
  uint64_t max_rss_mb = 0;
  // Called on the I/O thread when it ended by itself (the broker's STOP, or
  // idle CPU recycling), so that the owner (main, waiting for a signal)
  // stops the rest of the process.
  std::function<void()> on_self_stop;
};

// Exit code of a worker that recycled itself because a task was stuck.
inline constexpr int kRecycleExit = 75;

class Worker {
 public:
  Worker(WorkerOptions opts, TaskRunner& runner);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void stop();  // graceful: the drain above, then the pool is joined
  // How often, at most, RSS is read for max_rss_mb.
  static constexpr uint64_t kRssCheckUs = 10'000;

  // After stop(): the process's exit code, 0, kIdleCpuExit or
  // common::kExitRecycled (or common::kExitUsage when refused).
  int exit_code() const { return exit_code_; }

 private:
  void run(std::promise<void>& started);
  void open_sockets();
  void serve();
  void drain();
  bool drained() const;
  bool parent_gone() const;
  void pass(uint64_t& next_hb);  // one turn of the I/O loop
  void on_backend();
  uint64_t unanswered() const;  // tasks handed to the pool, RESULT not yet sent
  void wake_io();  // any thread: makes the I/O thread's poll return
  void on_cancel(uint64_t dispatch);
  void send_results(std::vector<common::Frames> results);
  void send_heartbeat();
  void send_ready();
  void send_bye();
  void check_idle_cpu(uint64_t now_us);
  void maybe_recycle(uint64_t now_us);
  void return_queued();
  [[noreturn]] void recycle();

  WorkerOptions opts_;
  TaskRunner& runner_;
  zmq::context_t ctx_{1};
  std::string route_;  // the backend routing id (WorkerInfo::route)
  ThreadPool pool_;
  common::WorkerInfo info_;
  std::thread io_;
  std::atomic<bool> stopping_{false};  // set by stop() or by the broker's STOP
  // I/O thread only, below.
  zmq::socket_t backend_, status_, wake_;
  common::SocketPoller poller_;  // wake_ and backend_
  static constexpr std::size_t kWakeAt = 0, kBackendAt = 1;
  bool stopped_by_broker_ = false;
  bool refused_ = false;  // the broker sent REFUSE: exit without a drain
  int exit_code_ = 0;  // read by the owner after stop() has joined this thread
  IdleCpuMonitor idle_cpu_;
  Recycler recycler_;
  bool recycling_ = false;  // draining to recycle: unstarted tasks go back
  uint64_t next_rss_check_us_ = 0;
  uint64_t tasks_finished_ = 0;  // done + failed at the last idle_cpu_ sample
  bool bye_sent_ = false;
  bool bye_acked_ = false;
  uint64_t hb_seq_ = 0;
  uint64_t welcome_token_ = 0;  // from the broker's last WELCOME; sent in heartbeats
  // Tasks handed to the pool, less those answered or given back by this
  // thread; unanswered() takes off the pool's `sent`.
  uint64_t handed_ = 0;
};

}  // namespace zfleet::worker
