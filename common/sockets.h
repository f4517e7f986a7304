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

// TCP keepalive on the links to other processes: the kernel probes a
// connection idle for kTcpKeepaliveIdleS seconds every kTcpKeepaliveIntvlS
// and drops it after kTcpKeepaliveCnt unanswered probes, so a peer whose
// host vanished is reaped in about 6 s (and NAT mappings stay open).
//
// Why not ZMTP heartbeats (ZMQ_HEARTBEAT_IVL): libzmq 4.3.4 (and master)
// aborts the whole process on them. An engine whose input stopped on a
// full pipe (the peer sent past the high-water mark) and whose peer then
// hung up has its fd removed (_io_error); its heartbeat timer, or a PING
// still in its buffer when the pipe drains, then calls out_event(), which
// asserts !_io_error (stream_engine_base.cpp:331; libzmq issue #4364). Any
// client could crash the broker that way. Kernel keepalive has no such
// code path, and wakes no process while it probes.
inline constexpr int kTcpKeepaliveIdleS = 2;
inline constexpr int kTcpKeepaliveIntvlS = 1;
inline constexpr int kTcpKeepaliveCnt = 4;

struct SocketOptions {
  int sndhwm = 1000;
  int rcvhwm = 1000;
  bool router_mandatory = false;  // ROUTER: unroutable sends fail instead of vanishing
  bool router_handover = false;   // ROUTER: a reconnecting peer takes over its routing id
  bool immediate = false;         // DEALER/REQ: queue only to completed connections
  int64_t max_message_bytes = -1; // libzmq's hard cap per frame (-1 = none)
  std::string routing_id;         // DEALER: stable identity ("" = libzmq's)
  bool tcp_keepalive = false;     // TCP: the kernel reaps a dead peer's connection (kTcpKeepalive*)
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
