// Unit tests of the broker's TCP sockets towards other processes: the
// public ROUTERs (broker/client_socket) and the backend ROUTER
// (broker/backend_socket), bound on loopback exactly as the broker binds
// them.
//
// The regression: with ZMTP heartbeats on (ZMQ_HEARTBEAT_IVL), libzmq 4.3.4
// aborts the process when a peer fills its connection's high-water mark
// and then hangs up: the stalled engine drops its fd, and its next
// heartbeat calls out_event(), which asserts !_io_error
// (stream_engine_base.cpp:331, libzmq issue #4364). A CI run lost its
// broker that way to a peer flooding the backend. Here the flood and the
// hang-up are repeated for longer than the old heartbeat intervals (1 and
// 2 s); with heartbeats back this binary dies of SIGABRT.
#include "broker/backend_socket.h"
#include "broker/client_socket.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include <zmq.hpp>

using namespace std::chrono_literals;

namespace {

constexpr int kHwm = 4;                 // tiny, so a flood stalls the engine at once
constexpr auto kHangUpWindow = 3500ms;  // over the old heartbeat intervals

// A DEALER that sends past the router's high-water mark (the router reads
// nothing meanwhile), then closes with linger 0: the kernel resets the
// connection, and the broker's engine sees the hang-up with its input
// stopped.
void flood_and_hang_up(zmq::context_t& ctx, const std::string& endpoint) {
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  d.connect(endpoint);
  const std::string body(4096, 'x');
  for (int i = 0; i < 2000; ++i) {
    if (!d.send(zmq::buffer(body), zmq::send_flags::dontwait)) std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(100ms);  // let the router's side fill and stall
  d.close();
}

// Hangs up stalled connections on `router` for kHangUpWindow, reading now
// and then (a drained pipe restarts a stalled engine), then checks that
// the router still takes a fresh connection's message.
void survives_hang_ups(zmq::context_t& ctx, zmq::socket_t& router) {
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  const auto until = std::chrono::steady_clock::now() + kHangUpWindow;
  zmq::message_t m;
  for (int round = 0; std::chrono::steady_clock::now() < until; ++round) {
    flood_and_hang_up(ctx, endpoint);
    std::this_thread::sleep_for(300ms);
    if (round % 2 == 1) {
      while (router.recv(m, zmq::recv_flags::dontwait)) {
      }
    }
  }
  zmq::socket_t probe(ctx, zmq::socket_type::dealer);
  probe.set(zmq::sockopt::linger, 0);
  probe.set(zmq::sockopt::routing_id, "probe");
  probe.connect(endpoint);
  probe.send(zmq::str_buffer("still here"), zmq::send_flags::none);
  router.set(zmq::sockopt::rcvtimeo, 10'000);
  bool seen = false;
  while (!seen && router.recv(m)) {  // stale flood frames drain first
    seen = m.to_string() == "probe";
  }
  REQUIRE(seen);
  REQUIRE(router.recv(m));
  CHECK(m.to_string() == "still here");
}

}  // namespace

TEST_CASE("a public ROUTER survives peers that flood past client_hwm and hang up") {
  zmq::context_t ctx;
  zfleet::broker::PublicEndpoint pub;
  pub.endpoint = "tcp://127.0.0.1:*";
  pub.client_hwm = kHwm;
  zmq::socket_t router = zfleet::broker::bind_public_router(ctx, pub);
  CHECK(router.get(zmq::sockopt::heartbeat_ivl) == 0);
  CHECK(router.get(zmq::sockopt::tcp_keepalive) == 1);  // dead peers still reaped, by the kernel
  survives_hang_ups(ctx, router);
}

TEST_CASE("the backend ROUTER survives peers that flood past worker_hwm and hang up") {
  zmq::context_t ctx;
  zfleet::config::BrokerConfig b;
  b.backend = "tcp://127.0.0.1:*";
  b.worker_hwm = kHwm;
  zmq::socket_t router = zfleet::broker::bind_backend_router(ctx, b, {});
  CHECK(router.get(zmq::sockopt::heartbeat_ivl) == 0);
  CHECK(router.get(zmq::sockopt::tcp_keepalive) == 1);
  survives_hang_ups(ctx, router);
}
