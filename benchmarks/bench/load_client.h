// LoadClient: the bench's connection to a fleet: one DEALER on the frontend
// (pipelined submits, matched by corr) and one DEALER on the results
// endpoint (pipelined get_many). Speaks only the public protocol, through
// common/codec.
//
// Thread safety: one LoadClient per thread (it owns ZeroMQ sockets).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <map>
#include <vector>

#include <zmq.hpp>

#include "common/curve_keys.h"

#include "common/codec.h"

namespace zfleet::bench {

class Progress;

struct TaskKind {
  std::string script, func, args_msgpack, type;
};

// Named task kinds: echo, sleep:MS, spin:US, py-noop, py-sleep:MS, py-cpu:N.
TaskKind task_kind(const std::string& name, const std::string& type);

struct Outcome {
  std::size_t accepted = 0, rejected = 0, done = 0, failed = 0, lost = 0;
  std::vector<uint64_t> queued_us, run_us;  // per finished task, from the results
};

class LoadClient {
 public:
  LoadClient(zmq::context_t& ctx, const std::string& frontend, const std::string& results,
             const common::CurveOptions& curve = {});
  // Submits `count` tasks, `batch` per request (1 = plain submit), keeping at
  // most `window` requests outstanding. Returns the accepted ids.
  std::vector<std::string> submit(const TaskKind& kind, std::size_t count, std::size_t batch,
                                  std::size_t window, Outcome& out);
  // Waits for every id (get_many in chunks, pipelined) up to `timeout`.
  void collect(const std::vector<std::string>& ids, std::chrono::milliseconds timeout,
               Outcome& out);
  // One closed-loop round trip: submit, wait for the ack, get with wait_ms.
  // Returns false on any error.
  bool round_trip(const TaskKind& kind, uint64_t wait_ms);
  // Throws std::runtime_error when no reply comes within `timeout`.
  common::Reply status(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Tasks each live worker of `type` has returned so far (status `done` +
  // `failed`), by worker id.
  std::map<std::string, uint64_t> worker_counts(const std::string& type);
  // Live workers of any type in status.
  std::size_t alive_workers(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Optional: submit() and collect() report acks and results to it (not owned).
  void set_progress(Progress* p) { progress_ = p; }

 private:
  zmq::message_t recv(zmq::socket_t& s, std::chrono::milliseconds timeout);
  zmq::socket_t front_, results_;
  zmq::message_t last_;
  Progress* progress_ = nullptr;
};

}  // namespace zfleet::bench
