// RouterProxy: a public ROUTER endpoint fanned out to several request
// threads over an inproc DEALER (the zguide "asyncsrv" shape; used only when
// more than one thread serves the endpoint, see client_socket.h), with the
// flow-control rule of ZFP/1: a reply that would go past the client's
// high-water mark (broker.client_hwm) is dropped and counted, never blocks.
//
// The proxy thread only moves frames; decoding happens on the request
// threads, so it is not a choke point for CPU work. libzmq's zmq_proxy is
// not used because it cannot count (or survive) refused ROUTER sends.
//
// Owns (proxy thread only): the public ROUTER and the inproc DEALER that
// request threads connect to (DEALERs of their own, one per thread).
//
// Thread safety: start()/finish()/join() from the owning thread; the rest
// runs on the proxy thread. Stops at finish() or when the context is shut
// down.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "broker/client_socket.h"

namespace zfleet::broker {

struct ProxyOptions {
  PublicEndpoint pub;
  std::string inproc_endpoint;
};

class RouterProxy {
 public:
  RouterProxy(zmq::context_t& ctx, ProxyOptions opts, std::atomic<uint64_t>& dropped);
  ~RouterProxy();
  RouterProxy(const RouterProxy&) = delete;
  RouterProxy& operator=(const RouterProxy&) = delete;

  void start();  // returns once both sockets are bound; throws a bind error
  // A clean stop, once the request threads behind it have stopped: forwards
  // the replies they left in the inproc pipe, closes the public ROUTER with
  // a linger (kStopLingerMs) and joins. Call before the context shuts down.
  void finish();
  void join();

 private:
  void loop();
  void to_workers();
  bool to_clients();

  zmq::context_t& ctx_;
  ProxyOptions opts_;
  std::atomic<uint64_t>& dropped_;
  zmq::socket_t router_, dealer_;
  std::thread thread_;
  std::atomic<bool> finishing_{false};  // set by finish(), read by the proxy thread
};

}  // namespace zfleet::broker
