// ZapHandler: the broker's ZAP handler (RFC 27), which decides for every
// CURVE handshake on a public endpoint whether the client's public key may
// connect there. Without one bound, libzmq accepts every CURVE client key
// (encryption without authentication: /work/shared notes 2.10), so the
// broker starts it before any CURVE socket binds and refuses to start when
// it cannot bind.
//
// Each public socket sets its ZAP domain to the endpoint's name; the allowed
// keys per domain come from `security` (PROTOCOL.md): frontend = producers,
// results = clients, backend and status = workers. An accepted peer gets
// its Z85 public key as User-Id (message metadata), which the broker can
// read from every message it sends. A refused handshake is counted and
// logged (at most once a second, with the count of the ones not logged).
//
// Owns (ZAP thread only): the REP socket bound at inproc://zeromq.zap.01.
// Thread safety: start()/join() from the owning thread; refused() from any.
// Stops when the context is shut down.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <zmq.hpp>

namespace zfleet::broker {

// ZAP domain -> allowed client public keys (Z85).
using AllowedKeys = std::map<std::string, std::set<std::string>, std::less<>>;

class ZapHandler {
 public:
  ZapHandler(zmq::context_t& ctx, AllowedKeys allowed) : ctx_(ctx), allowed_(std::move(allowed)) {}
  ~ZapHandler() { join(); }
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  void start();  // returns once bound; throws if the ZAP endpoint cannot be bound
  void join();
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  void loop();
  void answer(std::vector<zmq::message_t>& request);
  void note_refusal(const std::string& domain, const std::string& address, const std::string& key);

  zmq::context_t& ctx_;
  const AllowedKeys allowed_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<uint64_t> refused_{0};
  uint64_t last_log_us_ = 0, unlogged_ = 0;
};

}  // namespace zfleet::broker
