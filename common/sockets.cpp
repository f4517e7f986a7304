#include "common/sockets.h"

namespace zfleet::common {
namespace {

// A half-done handshake holds a connection slot; under CURVE, one that has
// not finished in this time is dropped (RFC 37 warns of handshake floods).
constexpr int kCurveHandshakeMs = 5000;

// Security options apply to later bind/connect calls: set before either.
void apply_curve(zmq::socket_t& s, const CurveOptions& c) {
  if (!c.enabled()) return;
  if (c.is_server()) {
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, c.secret_key);
    s.set(zmq::sockopt::zap_domain, c.zap_domain);
  } else {
    s.set(zmq::sockopt::curve_serverkey, c.server_key);
    s.set(zmq::sockopt::curve_publickey, c.public_key);
    s.set(zmq::sockopt::curve_secretkey, c.secret_key);
  }
  s.set(zmq::sockopt::handshake_ivl, kCurveHandshakeMs);
}

}  // namespace

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type, const SocketOptions& opts) {
  zmq::socket_t s(ctx, type);
  // Never let a close wait for unsent messages: a stopping process must stop.
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, opts.sndhwm);
  s.set(zmq::sockopt::rcvhwm, opts.rcvhwm);
  if (opts.max_message_bytes > 0) s.set(zmq::sockopt::maxmsgsize, opts.max_message_bytes);
  if (type == zmq::socket_type::router) {
    if (opts.router_mandatory) s.set(zmq::sockopt::router_mandatory, 1);
    if (opts.router_handover) s.set(zmq::sockopt::router_handover, 1);
  }
  if (opts.immediate) s.set(zmq::sockopt::immediate, 1);
  if (!opts.routing_id.empty()) s.set(zmq::sockopt::routing_id, opts.routing_id);
  if (opts.tcp_keepalive) {
    s.set(zmq::sockopt::tcp_keepalive, 1);
    s.set(zmq::sockopt::tcp_keepalive_idle, kTcpKeepaliveIdleS);
    s.set(zmq::sockopt::tcp_keepalive_intvl, kTcpKeepaliveIntvlS);
    s.set(zmq::sockopt::tcp_keepalive_cnt, kTcpKeepaliveCnt);
  }
  s.set(zmq::sockopt::reconnect_ivl, opts.reconnect_ivl_ms);
  s.set(zmq::sockopt::reconnect_ivl_max, opts.reconnect_ivl_max_ms);
  apply_curve(s, opts.curve);
  return s;
}

std::string bind_socket(zmq::socket_t& socket, const std::string& endpoint) {
  socket.bind(endpoint);
  return socket.get(zmq::sockopt::last_endpoint);
}

}  // namespace zfleet::common
