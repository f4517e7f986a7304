// InlineClients: the frontend and the results endpoint served on the
// dispatcher's own thread, when the broker runs one intake and one result
// thread (broker.queue_threads = result_threads = 1, the defaults).
//
// Why: on a small machine a wake-up of another thread costs more than the
// work of a task. With separate intake and result threads a closed-loop
// task crossed intake -> dispatcher and dispatcher -> result thread on top
// of the unavoidable ZeroMQ I/O threads; here a submit is accepted, a
// finished task answers its parked get, and a cancel or clear is decided, in
// calls on one thread (issue 14; hand-offs counted in docs/architecture.md).
// With more intake or result threads the broker keeps IntakeThread and
// ResultThread, which run the same Intake and ResultService.
//
// Owns (the dispatcher thread only): the public results and frontend
// ROUTERs (bound in that order: the frontend last, once tasks can be
// dispatched), an Intake and a ResultService on them.
//
// Thread safety: every call from the dispatcher thread.
#pragma once

#include <cstdint>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "broker/intake.h"
#include "broker/result_service.h"

namespace zfleet::broker {

// Whether the dispatcher serves the clients itself.
inline bool serves_clients_inline(const config::BrokerConfig& b) {
  return b.queue_threads == 1 && b.result_threads == 1;
}

// The public endpoints as the broker's config gives them.
PublicEndpoint frontend_endpoint(BrokerState& st);
PublicEndpoint results_endpoint(BrokerState& st);

class InlineClients {
 public:
  InlineClients(BrokerState& st, TaskSink& tasks, ControlSink& control);
  void bind();  // throws a bind error

  zmq::socket_t& frontend() { return front_.socket(); }
  zmq::socket_t& results() { return results_.socket(); }
  uint64_t frontend_replies() const { return front_.replies(); }
  uint64_t results_replies() const { return results_.replies(); }
  // Up to `burst` requests from each socket, for at most kBurstBudgetUs
  // (at least one request).
  static constexpr uint64_t kBurstBudgetUs = 2000;
  void on_frontend(common::Message& buf, int burst);
  void on_results(common::Message& buf, int burst);

  Intake& intake() { return intake_; }
  ResultService& service() { return service_; }
  // Closes both sockets; after the stopping notice with a linger, so the
  // last replies reach their clients.
  void close();

 private:
  BrokerState& st_;
  ClientSocket front_, results_;
  Intake intake_;
  ResultService service_;
};

}  // namespace zfleet::broker
