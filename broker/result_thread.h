// ResultThread: one of broker.result_threads threads serving the results
// endpoint with a ResultService (result_service.h), used when the broker
// runs more than one intake or result thread (with one of each the
// dispatcher serves the results endpoint itself: inline_clients.h).
//
// Owns (its own thread only): its ClientSocket (the public results ROUTER
// when it is the only result thread, else a DEALER on the results proxy's
// inproc endpoint), a PULL bound at notify_endpoint(index) for notices from
// the dispatcher, and a PUSH to the dispatcher's control endpoint (CLEAR,
// CANCEL).
//
// Stopping: the dispatcher's last Notice says `stopping`; the service then
// answers every parked request, the thread leaves its loop and closes its
// client socket with a linger, so join() returns once those replies are
// handed to libzmq. The broker joins result threads before it shuts the
// context down (broker.cpp).
//
// Thread safety: start()/join() from the owning thread.
#pragma once

#include <optional>
#include <thread>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "broker/result_service.h"

namespace zfleet::broker {

class ResultThread final : private ControlSink {
 public:
  // `direct`: the results endpoint this thread serves alone (nullopt: behind
  // the proxy).
  ResultThread(BrokerState& state, unsigned index, std::optional<PublicEndpoint> direct)
      : st_(state),
        index_(index),
        direct_(std::move(direct)),
        client_(state.metrics.replies_dropped),
        service_(state, index, client_, *this) {}
  ~ResultThread() { join(); }
  void start();
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop();
  void on_notices();
  void clear_scripts(common::Frames clear) override;
  void request_cancel(const CancelRequest& req) override;

  BrokerState& st_;
  unsigned index_;
  std::optional<PublicEndpoint> direct_;
  std::thread thread_;
  ClientSocket client_;
  ResultService service_;
  zmq::socket_t notices_, control_;
};

}  // namespace zfleet::broker
