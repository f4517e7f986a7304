// Worker: one zfleet-worker process's link to the broker. Its I/O thread
// owns the backend DEALER (routing id = worker id; tasks in, results out)
// and the status PUB (heartbeats every heartbeat_ms), plus the inproc PULL
// on which pool threads wake it to send the results in the ResultOutbox.
// It never touches Python, so a task holding the GIL cannot delay a
// heartbeat (DESIGN decision 2).
//
// Contract: on start it sends READY; on RESYNC (the broker does not know it,
// e.g. after a broker restart) it sends READY again; CLEAR is passed to the
// TaskRunner without waiting for Python; on stop() it says BYE, lets the
// pool finish the tasks it holds, sends their results, and returns.
//
// Thread safety: start()/stop()/join() from the owning (main) thread.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/worker_link.h"
#include "worker/thread_pool.h"

namespace zfleet::worker {

struct WorkerOptions {
  std::string id;
  common::TaskType type = common::TaskType::io;
  int threads = 1;
  std::string backend, status;
  int heartbeat_ms = 250;
  uint64_t drain_timeout_ms = 30000;  // on stop: how long running tasks may take
  // A task this long past its timeout is stuck where the timeout cannot
  // reach (C code): the process exits (code kRecycleExit) so that its
  // supervisor starts a fresh one and the slot comes back. 0 = never.
  uint64_t kill_grace_ms = 5000;
  // A result larger than this fails with unserializable_result instead of
  // being sent (the broker would refuse it): broker.max_message_bytes.
  uint64_t max_result_bytes = 16 << 20;
};

// Exit code of a worker that recycled itself because a task was stuck.
inline constexpr int kRecycleExit = 75;

class Worker {
 public:
  Worker(WorkerOptions opts, TaskRunner& runner);
  ~Worker();
  void start();
  void stop();  // graceful: BYE, finish held tasks, send their results
  // True once the I/O thread has stopped by itself (it never does today
  // except on a fatal error).
  bool failed() const { return failed_.load(); }

 private:
  void run();
  void loop();
  void on_backend();
  void on_results();
  void send_results(std::vector<common::Frames> results);
  void send_heartbeat();
  void send_ready();
  void drain();
  [[noreturn]] void recycle();

  WorkerOptions opts_;
  TaskRunner& runner_;
  zmq::context_t ctx_{1};
  ThreadPool pool_;
  common::WorkerInfo info_;
  zmq::socket_t backend_, status_, results_;
  std::thread io_;
  std::atomic<bool> stopping_{false}, failed_{false};
  uint64_t hb_seq_ = 0;
  uint64_t in_pool_ = 0;  // tasks handed to the pool, results not yet sent
};

}  // namespace zfleet::worker
