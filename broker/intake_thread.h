// IntakeThread: one of broker.queue_threads threads serving the frontend
// with an Intake (intake.h), used when the broker runs more than one intake
// or result thread (with one of each the dispatcher serves the frontend
// itself: inline_clients.h).
//
// Owns (its own thread only): its ClientSocket (the public frontend ROUTER
// when it is the only intake thread, else a DEALER on the frontend proxy's
// inproc endpoint; requests in, replies out), a PUSH to the dispatcher (the
// Task* batches: handoff.h) and, with the journal on, a PULL bound at
// intake_ack_endpoint(index) for the tokens of batches whose ACCEPT records
// are durable.
//
// Thread safety: start()/join() from the owning thread.
#pragma once

#include <optional>
#include <thread>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "broker/intake.h"

namespace zfleet::broker {

class IntakeThread final : private TaskSink {
 public:
  // `direct`: the frontend this thread serves alone (nullopt: behind the proxy).
  IntakeThread(BrokerState& state, unsigned index, std::optional<PublicEndpoint> direct)
      : st_(state),
        index_(index),
        direct_(std::move(direct)),
        client_(state.metrics.replies_dropped),
        intake_(state, index, client_, *this, state.config.broker.journal.enabled()) {}
  ~IntakeThread() { join(); }
  void start();  // returns once its sockets are ready; throws a bind error
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop();
  void take_tasks(const std::vector<Task*>& batch, std::optional<AckRequest> ack) override;

  BrokerState& st_;
  unsigned index_;
  std::optional<PublicEndpoint> direct_;
  std::thread thread_;
  ClientSocket client_;
  Intake intake_;
  zmq::socket_t dispatch_;
  zmq::socket_t acks_;  // journal on only
};

}  // namespace zfleet::broker
