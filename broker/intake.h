// IntakeThread: one of broker.queue_threads threads serving the frontend
// (submit, submit_batch): decode and validate, register in the live table,
// hand the tasks to the dispatcher, then acknowledge (DESIGN decision 3).
//
// Owns (its own thread only): its ClientSocket (the public frontend ROUTER
// when it is the only intake thread, else a DEALER on the frontend proxy's
// inproc endpoint; requests in, replies out), a PUSH to the dispatcher and,
// with the journal on, a PULL bound at intake_ack_endpoint(index) for the
// tokens of batches whose ACCEPT records are durable.
//
// Contract: a task is acknowledged (`accepted`) only after it is in the live
// table and on its way to the dispatcher's queue, so a `get` right after the
// acknowledgement finds it; with the journal on, also only once its ACCEPT
// record is durable under the fsync policy (the reply waits, parked under a
// token, while the thread goes on serving other requests). Refusals: duplicate_id (live or cached id),
// queue_full (type's queue at broker.max_queued, its delayed tasks at
// broker.max_delayed, or the live table at broker.max_live; the message
// names the key), shutting_down (draining).
//
// Thread safety: start()/join() from the owning thread.
#pragma once

#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "common/frames.h"

namespace zfleet::broker {

class IntakeThread {
 public:
  // `direct`: the frontend this thread serves alone (nullopt: behind the proxy).
  IntakeThread(BrokerState& state, unsigned index, std::optional<PublicEndpoint> direct)
      : st_(state), index_(index), direct_(std::move(direct)), client_(state.metrics.replies_dropped) {}
  ~IntakeThread() { join(); }
  void start();  // returns once its sockets are ready; throws a bind error
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop();
  void on_request(common::Message& msg);
  void on_acks();
  std::string handle(std::string_view body, bool& admitted);
  std::optional<common::WireError> reserve(const common::TaskSpec& spec);
  std::expected<std::string, common::WireError> admit(common::TaskSpec&& spec,
                                                      std::vector<Task*>& batch);

  BrokerState& st_;
  unsigned index_;
  std::optional<PublicEndpoint> direct_;
  std::thread thread_;
  ClientSocket client_;
  zmq::socket_t dispatch_;
  zmq::socket_t acks_;  // journal on only
  struct Parked {
    std::vector<zmq::message_t> envelope;
    std::string reply;
  };
  std::unordered_map<uint64_t, Parked> parked_;  // by ack token
  uint64_t next_token_ = 1;
  uint64_t token_ = 0;  // the token of the request being handled (0: none)
};

}  // namespace zfleet::broker
