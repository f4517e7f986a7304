// ThreadPool: the worker's N executor threads. Each takes a task from the
// TaskQueue (which decides how many threads to wake), runs it through the
// TaskRunner (builtins natively, Python under the GIL), and puts the encoded
// RESULT in the ResultOutbox; when the outbox says so, it wakes the I/O
// thread with an empty message on its own inproc PUSH socket.
//
// Owns: the threads, one PUSH socket per thread (used by that thread only),
// the queue, the outbox, the counters reported in heartbeats.
//
// Thread safety: start()/stop() from the owning thread; counters are atomics
// readable from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/frames.h"
#include "worker/result_outbox.h"
#include "worker/task_queue.h"
#include "worker/exec/task_runner.h"

namespace zfleet::worker {

class ThreadPool {
 public:
  ThreadPool(zmq::context_t& ctx, TaskRunner& runner, std::string results_endpoint, int threads,
             uint64_t max_result_bytes);
  ~ThreadPool();
  void start();
  // Closes the queue, lets the threads finish what is queued, joins them.
  void stop();
  TaskQueue& queue() { return queue_; }
  ResultOutbox& outbox() { return outbox_; }

  // True when a task has run more than `grace_us` past its deadline: it is
  // stuck (e.g. in C code, where the timeout cannot interrupt it).
  bool has_stuck_task(uint64_t now_us, uint64_t grace_us) const;

  std::atomic<uint32_t> active{0};
  std::atomic<uint64_t> done{0}, failed{0};

 private:
  void run_thread(std::size_t slot);

  zmq::context_t& ctx_;
  TaskRunner& runner_;
  std::string results_endpoint_;
  int threads_;
  uint64_t max_result_bytes_;
  TaskQueue queue_;
  ResultOutbox outbox_;
  std::vector<std::thread> pool_;
  // Deadline (steady us) of the task each thread runs; 0 when idle or none.
  std::unique_ptr<std::atomic<uint64_t>[]> deadlines_;
};

}  // namespace zfleet::worker
