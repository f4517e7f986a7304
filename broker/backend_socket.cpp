#include "broker/backend_socket.h"

#include "common/sockets.h"

namespace zfleet::broker {

zmq::socket_t bind_backend_router(zmq::context_t& ctx, const config::BrokerConfig& b,
                                  const common::CurveOptions& curve) {
  common::SocketOptions o;
  o.router_mandatory = true;  // a send to a vanished worker must fail, not vanish
  o.router_handover = true;
  // ROUTER_HANDOVER: without it libzmq parks a second connection under a
  // routing id in use as a pipe it never reads or frees (a peer reconnecting
  // under a worker's id in a loop grew the broker ~10 MiB a cycle). Taking
  // over a worker's connection would need its routing id, which is random
  // per process (WorkerInfo::route); a worker id is bound to the route its
  // READY came on (dispatcher_link.cpp on_ready), so claiming the id from
  // another connection gets nothing.
  o.tcp_keepalive = true;
  // Per worker connection. An honest worker never comes near it (its
  // tasks are bounded by its capacity, validate.cpp); a peer that never
  // reads stops costing memory there: past it a TASK fails (the worker is
  // lost, its tasks requeued) and other messages are dropped. Inbound, a
  // full pipe pushes back on the sender through TCP: nothing is dropped.
  o.sndhwm = b.worker_hwm;
  o.rcvhwm = b.worker_hwm;
  o.max_message_bytes = static_cast<int64_t>(b.max_message_bytes) * 2 + 65536;
  o.curve = curve;
  zmq::socket_t router = common::make_socket(ctx, zmq::socket_type::router, o);
  common::bind_socket(router, b.backend);
  return router;
}

}  // namespace zfleet::broker
