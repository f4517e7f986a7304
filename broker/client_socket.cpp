#include "broker/broker_log.h"
#include "broker/client_socket.h"

#include "common/log.h"
#include "common/sockets.h"

namespace zfleet::broker {

zmq::socket_t bind_public_router(zmq::context_t& ctx, const PublicEndpoint& pub) {
  common::SocketOptions ro;
  ro.router_mandatory = true;  // a refused reply must be seen, to be counted
  ro.sndhwm = pub.client_hwm;
  ro.rcvhwm = pub.client_hwm;
  // Bodies up to twice the limit still arrive, so they can be answered
  // with too_large; anything larger makes libzmq drop the connection.
  ro.max_message_bytes = pub.max_message_bytes * 2 + 65536;
  ro.tcp_keepalive = true;  // never ZMTP heartbeats: see common/sockets.h
  // A second connection under an identity in use takes it over. Without
  // handover libzmq (4.3.4, and master) parks the newcomer as an
  // "anonymous" pipe it never reads again: everything sent there, and the
  // pipe itself once the peer goes, stays in memory for good, so a client
  // reconnecting under one identity in a loop grew the broker without
  // bound (issue 11, live garbage). An identity carries no authority on
  // the public endpoints; replies still pending for the old connection go
  // to the new one.
  ro.router_handover = true;
  ro.curve = pub.curve;
  zmq::socket_t router = common::make_socket(ctx, zmq::socket_type::router, ro);
  common::bind_socket(router, pub.endpoint);
  return router;
}

bool send_client_frame(zmq::socket_t& router, zmq::message_t& frame, bool more, bool first) {
  auto flags = zmq::send_flags::dontwait | (more ? zmq::send_flags::sndmore : zmq::send_flags::none);
  try {
    // Only the first frame can be refused (the client's high-water mark):
    // the rest of an accepted message always follows.
    return router.send(frame, flags).has_value() || !first;
  } catch (const zmq::error_t& e) {
    if (!first || e.num() != EHOSTUNREACH) throw;
    return false;  // the client is gone
  }
}

void ClientSocket::open_direct(zmq::context_t& ctx, const PublicEndpoint& pub) {
  socket_ = bind_public_router(ctx, pub);
  direct_ = true;
  name_ = pub.name;
}

void ClientSocket::open_shared(zmq::context_t& ctx, const std::string& inproc_endpoint) {
  socket_ = common::make_socket(ctx, zmq::socket_type::dealer, common::unbounded_options());
  socket_.connect(inproc_endpoint);
  direct_ = false;
}

void ClientSocket::reply(std::vector<zmq::message_t>& envelope, const std::string& body) {
  ++replies_;
  if (!direct_) {
    // The inproc DEALER has no high-water mark; the proxy counts refusals.
    for (auto& f : envelope) socket_.send(f, zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
    return;
  }
  bool first = true;
  for (auto& f : envelope) {
    if (!send_client_frame(socket_, f, true, first)) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      log()->warn("{}: reply dropped (client gone or over client_hwm)", name_);
      return;
    }
    first = false;
  }
  zmq::message_t last(body.data(), body.size());
  send_client_frame(socket_, last, false, first);
}

}  // namespace zfleet::broker
