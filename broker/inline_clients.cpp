#include "broker/inline_clients.h"

#include "common/clock.h"
#include "common/sockets.h"

namespace zfleet::broker {

PublicEndpoint frontend_endpoint(BrokerState& st) {
  const auto& b = st.config.broker;
  return {b.frontend, b.client_hwm, static_cast<int64_t>(b.max_message_bytes), "frontend", st.curve_for("frontend")};
}

PublicEndpoint results_endpoint(BrokerState& st) {
  const auto& b = st.config.broker;
  return {b.results, b.client_hwm, static_cast<int64_t>(b.max_message_bytes), "results", st.curve_for("results")};
}

InlineClients::InlineClients(BrokerState& st, TaskSink& tasks, ControlSink& control)
    : st_(st),
      front_(st.metrics.replies_dropped),
      results_(st.metrics.replies_dropped),
      intake_(st, 0, front_, tasks, st.config.broker.journal.enabled()),
      service_(st, 0, results_, control) {}

void InlineClients::bind() {
  results_.open_direct(st_.ctx, results_endpoint(st_));
  front_.open_direct(st_.ctx, frontend_endpoint(st_));
}

// A submit_batch may carry thousands of tasks: the burst also ends after
// kBurstBudgetUs, so that results, heartbeats and dispatching get their
// turn (a stalled loop would read heartbeats late and judge live workers lost).
void InlineClients::on_frontend(common::Message& buf, int burst) {
  const uint64_t until = common::now_us() + kBurstBudgetUs;
  for (int n = 0; n < burst && (n == 0 || common::now_us() < until); ++n) {
    if (!common::recv_message(front_.socket(), buf, zmq::recv_flags::dontwait)) return;
    intake_.on_request(buf);
  }
}

void InlineClients::on_results(common::Message& buf, int burst) {
  const uint64_t until = common::now_us() + kBurstBudgetUs;
  for (int n = 0; n < burst && !service_.stopped() && (n == 0 || common::now_us() < until); ++n) {
    if (!common::recv_message(results_.socket(), buf, zmq::recv_flags::dontwait)) return;
    service_.on_request(buf);
  }
}

void InlineClients::close() {
  const int linger = service_.stopped() ? kStopLingerMs : 0;
  results_.close(linger);
  front_.close(linger);
}

}  // namespace zfleet::broker
