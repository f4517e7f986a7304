// PoolSampler: what one pool looks like over time, from the broker's own
// `status`, asked every `period` on a thread of its own: queue depth, tasks
// running, the process count (an adaptive pool's `processes`, else its live
// workers) and the resident memory of its live workers (their heartbeats'
// `rss_bytes`). For the `burst` scenario's timelines and memory figures.
//
// Contract: sampling starts in the constructor and ends in stop() (or the
// destructor), which joins the thread and returns the samples, oldest first,
// each timed from `t0_us` (common::now_us()). A status that gets no answer
// within the period's timeout is skipped, not retried: a gap in the timeline.
//
// Thread safety: construct, stop and destroy from one thread; the sampling
// thread owns its own sockets (a LoadClient made on that thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

namespace zfleet::bench {

struct PoolSample {
  double t_s = 0;  // since t0
  uint64_t depth = 0, running = 0, processes = 0, rss_bytes = 0;
};

class PoolSampler {
 public:
  PoolSampler(zmq::context_t& ctx, std::string frontend, std::string results, std::string pool,
              std::chrono::milliseconds period, uint64_t t0_us);
  ~PoolSampler();
  PoolSampler(const PoolSampler&) = delete;
  PoolSampler& operator=(const PoolSampler&) = delete;

  std::vector<PoolSample> stop();

 private:
  void run();

  zmq::context_t& ctx_;
  const std::string frontend_, results_, pool_;
  const std::chrono::milliseconds period_;
  const uint64_t t0_us_;
  std::atomic<bool> stop_{false};
  std::vector<PoolSample> samples_;  // written by the thread; read after join
  std::thread thread_;
};

}  // namespace zfleet::bench
