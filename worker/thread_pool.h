// ThreadPool: the worker's N executor threads. Each takes a task from the
// TaskQueue (which decides how many threads to wake), runs it through the
// TaskRunner (builtins natively, Python under the GIL), and sends the
// RESULT to the broker itself, on a DEALER of its own (issue 14): a
// finished task wakes no other thread of the worker, only libzmq's I/O
// thread, which the send needs anyway.
//
// Owns: the threads, one results DEALER per thread (made, used and closed
// by that thread only; routing id common::result_route(route, slot), with
// the backend's options), the queue, the RunningTasks table (dispatch,
// deadline and cancel flag of each thread's task), the counters reported in
// heartbeats, and `sent`: RESULTs handed to a results socket, so the I/O
// thread knows how many of the tasks it handed over are still unanswered.
//
// Cancel (link CANCEL): cancel(d) takes a task still queued back out and
// returns its RESULT (`cancelled`, run_us 0) for the I/O thread to send; a
// running one has its CancelFlag raised and ends with its own RESULT
// (`cancelled`, or its normal outcome if it finished first); an unknown d
// (already answered) changes nothing.
//
// Stopping: stop() joins the threads; each closes its socket with a linger
// of kResultLingerMs, so results sent just before are still delivered while
// the worker's context terminates.
//
// Fail loudly (DESIGN decision 9): an exception escaping a pool thread's
// loop ends the process at once (common::die, exit 70); a pool thread that
// silently vanished would leave a worker that takes tasks and never answers.
// fault_point("worker-pool") runs once per task so tests can inject that.
//
// Thread safety: start()/stop() from the owning thread; cancel() and
// has_stuck_task() from the I/O thread; counters are atomics readable from
// any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/frames.h"
#include "common/worker_link.h"
#include "common/sockets.h"
#include "worker/running_tasks.h"
#include "worker/task_queue.h"
#include "worker/exec/task_runner.h"

namespace zfleet::worker {

class ThreadPool {
 public:
  // `results`: how each thread's results DEALER is made: its routing_id is
  // the worker's route (the thread's slot is appended), the rest as for the
  // backend. `endpoint`: where it connects (the broker's backend).
  ThreadPool(zmq::context_t& ctx, TaskRunner& runner, common::SocketOptions results, std::string endpoint,
             int threads, uint64_t max_result_bytes);
  static constexpr int kResultLingerMs = 1000;
  // Result groups: while short tasks are queued a pool thread keeps its
  // results (at most kMaxHeld, for at most kMaxHoldUs since the first) and
  // sends them together, so libzmq's I/O thread wakes and writes once per
  // group instead of once per microsecond task. Held results go as soon as
  // the thread finds no task to take (before it sleeps). The one delay this
  // allows: a task that turns out long while the average is short keeps
  // the group held before it (at most kMaxHoldUs of results) until it ends.
  static constexpr std::size_t kMaxHeld = 64;
  static constexpr uint64_t kMaxHoldUs = 200;
  ~ThreadPool();
  void start();
  // Closes the queue, lets the threads finish what is queued, joins them.
  void stop();
  TaskQueue& queue() { return queue_; }

  // See "Cancel" above. Returns the RESULT to send when d was still queued.
  std::optional<common::Frames> cancel(uint64_t dispatch, uint64_t now_us);

  // True when a task has run more than `grace_us` past its deadline or its
  // cancel: it is stuck (e.g. in C code, where no interrupt can reach it).
  bool has_stuck_task(uint64_t now_us, uint64_t grace_us) const {
    return running_.has_stuck(now_us, grace_us);
  }

  std::atomic<uint32_t> active{0};
  std::atomic<uint64_t> done{0}, failed{0};
  std::atomic<uint64_t> sent{0};  // RESULTs sent by the pool threads

 private:
  void run_thread(std::size_t slot);
  void serve(std::size_t slot);
  common::ResultMessage execute(const PendingTask& p, std::size_t slot);
  void send_held(zmq::socket_t& out, std::vector<common::Frames>& held);

  zmq::context_t& ctx_;
  TaskRunner& runner_;
  common::SocketOptions results_;
  std::string endpoint_;
  int threads_;
  uint64_t max_result_bytes_;
  TaskQueue queue_;
  RunningTasks running_;
  std::vector<std::thread> pool_;
};

}  // namespace zfleet::worker
