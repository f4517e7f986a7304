// OpenLoop: the `rate` scenario's client. Task i is due at the intended time
// t0 + i / rate whatever happened to the tasks before it (open loop), so a
// slow fleet shows up as growing latency instead of a slower sender
// (no coordinated omission). It owns one DEALER on the frontend (pipelined
// `submit`, each carrying its index as `corr`) and one DEALER on the results
// endpoint (one long-poll `get` per acknowledged task, re-sent while the
// task is still pending). A task's latency runs from its intended send time
// to the moment its result reaches this client.
//
// Waiting uses ppoll() on the sockets' ZMQ_FD with a nanosecond timeout:
// zmq_poll's millisecond timeout cannot pace rates above 1,000/s without
// spinning a core that the fleet needs.
//
// Thread safety: one OpenLoop per thread (it owns ZeroMQ sockets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "common/curve_keys.h"

#include "benchmarks/bench/histogram.h"
#include "benchmarks/bench/load_client.h"
#include "benchmarks/bench/timeline.h"

namespace zfleet::bench {

class Progress;

struct RateParams {
  double rate = 1000;     // tasks per second
  std::size_t count = 0;  // tasks in all
  uint64_t wait_ms = 60000;  // how long after the last due time results may take
};

struct RateResult {
  std::size_t count = 0, accepted = 0, rejected = 0, done = 0, failed = 0, lost = 0;
  Histogram latency_us;   // intended send -> result at the client, tasks done
  Histogram send_lag_us;  // actual send - intended send: the bench's own lateness
  double offered_per_s = 0;   // count / span of the intended send times
  double sent_per_s = 0;      // count / (last actual send - t0)
  double achieved_per_s = 0;  // done / (last result - t0)
  double seconds = 0;         // t0 -> last result
  Timeline sent, completed;   // actual sends and results of done tasks, from t0 (--plot)
  Histogram queued_us;        // the broker's `queued_us` of each task done
  // (intended send time in s from t0, `queued_us` in ms) of each task done,
  // in the order the results came: queue wait over time (burst --plot).
  std::vector<std::pair<double, double>> queued_at;
  uint64_t t0_us = 0;  // common::now_us() of task 0's intended send time
};

class OpenLoop {
 public:
  OpenLoop(zmq::context_t& ctx, const std::string& frontend, const std::string& results,
           const common::CurveOptions& curve = {});
  RateResult run(const TaskKind& kind, const RateParams& p, Progress* progress);

 private:
  uint64_t intended_us(std::size_t i) const;
  void send_due(uint64_t now);
  std::size_t drain(zmq::socket_t& s, bool front);
  void on_ack(const zmq::message_t& m);
  void on_result(const zmq::message_t& m);
  void send_get(const std::string& id, std::size_t i);
  void finish(std::size_t i);
  void wait_for_io(uint64_t until_us);

  zmq::socket_t front_, results_;
  int front_fd_ = -1, results_fd_ = -1;
  // Per run.
  common::SubmitArgs task_;
  RateParams p_;
  RateResult r_;
  uint64_t t0_ = 0, deadline_us_ = 0, last_send_us_ = 0, last_result_us_ = 0;
  std::size_t next_ = 0, resolved_ = 0;
  std::vector<uint8_t> final_;
};

}  // namespace zfleet::bench
