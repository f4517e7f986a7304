// Socket creation: the one place where zfleet sockets get their options
// (linger, high-water marks, ROUTER_MANDATORY, message size caps, ZMTP
// heartbeats), so that later security options (CURVE + ZAP) are applied to
// every endpoint here and nowhere else.
//
// Thread safety: functions only. The returned socket belongs to the thread
// that will use it; create it there (or hand it over before first use).
#pragma once

#include <cstdint>
#include <string>

#include <zmq.hpp>

#include "common/curve_keys.h"

namespace zfleet::common {

struct SocketOptions {
  int sndhwm = 1000;
  int rcvhwm = 1000;
  bool router_mandatory = false;  // ROUTER: unroutable sends fail instead of vanishing
  bool router_handover = false;   // ROUTER: a reconnecting peer takes over its routing id
  bool immediate = false;         // DEALER/REQ: queue only to completed connections
  int64_t max_message_bytes = -1; // libzmq's hard cap per frame (-1 = none)
  std::string routing_id;         // DEALER: stable identity ("" = libzmq's)
  int zmtp_heartbeat_ms = 0;      // ZMTP PING interval on TCP (0 = off)
  int reconnect_ivl_ms = 100;
  int reconnect_ivl_max_ms = 2000;
  CurveOptions curve;             // empty: NULL mechanism (no CURVE)
};

// Options for an in-process hand-off socket: no high-water mark, since what
// crosses it (owned pointers, results) must never be dropped and its volume
// is bounded elsewhere (queues, worker capacity).
inline SocketOptions unbounded_options() {
  SocketOptions o;
  o.sndhwm = 0;
  o.rcvhwm = 0;
  return o;
}

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type, const SocketOptions& opts);

// Binds and returns the endpoint actually bound (resolves `tcp://host:*`).
std::string bind_socket(zmq::socket_t& socket, const std::string& endpoint);

}  // namespace zfleet::common
