// ClientSocket: how a serving thread (intake or result thread) reaches the
// clients of its public endpoint.
//
//   shared: a DEALER connected to the endpoint's RouterProxy, when several
//           threads serve one endpoint (broker.queue_threads or
//           result_threads > 1);
//   direct: the public ROUTER itself, bound by this thread, when it serves
//           the endpoint alone. Every request and reply then skips the
//           proxy thread: one wake-up less each way, which is a large part
//           of an idle round trip on a small machine.
//
// Either way requests arrive as [client identity, ...envelope, body] and
// replies leave the same way, and a reply the client cannot take (over
// broker.client_hwm, or the client is gone) is dropped and counted in
// `replies_dropped`, never blocks (ZFP/1 flow control).
//
// Also holds the pieces RouterProxy shares: binding a public ROUTER with
// the client-facing options, and the drop-counting send of one frame.
//
// Thread safety: a ClientSocket belongs to the thread that opened it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/curve_keys.h"

namespace zfleet::broker {

struct PublicEndpoint {
  std::string endpoint;
  int client_hwm = 100000;
  int64_t max_message_bytes = 16 << 20;
  const char* name = "frontend";  // also its ZAP domain under CURVE
  common::CurveOptions curve;      // empty: no CURVE
};

// A ROUTER bound at `pub.endpoint` with the options every client-facing
// socket uses. Throws on a bind failure.
zmq::socket_t bind_public_router(zmq::context_t& ctx, const PublicEndpoint& pub);

// Sends one frame of a reply to a client without blocking. The first frame
// (the client's identity) may be refused: returns false, and the caller
// drops the rest of the reply. Later frames of an accepted reply always go.
bool send_client_frame(zmq::socket_t& router, zmq::message_t& frame, bool more, bool first);

// How long a clean stop lets replies already sent reach their clients.
inline constexpr int kStopLingerMs = 1000;

class ClientSocket {
 public:
  ClientSocket(std::atomic<uint64_t>& dropped) : dropped_(dropped) {}
  // Direct mode: binds the public endpoint (throws on failure).
  void open_direct(zmq::context_t& ctx, const PublicEndpoint& pub);
  // Shared mode: connects to the proxy's inproc endpoint.
  void open_shared(zmq::context_t& ctx, const std::string& inproc_endpoint);

  zmq::socket_t& socket() { return socket_; }
  // Sends `body` along `envelope` (identity first); counts a refused reply.
  void reply(std::vector<zmq::message_t>& envelope, const std::string& body);
  // Replies tried so far: whoever polls this socket learns that it was sent
  // on (common/socket_poller.h).
  uint64_t replies() const { return replies_; }
  // Closes the socket. `linger_ms` > 0 at a clean stop: replies already
  // sent still reach their clients while the context terminates (every
  // socket is made with linger 0, common/sockets.h).
  void close(int linger_ms = 0) {
    if (linger_ms > 0 && socket_) socket_.set(zmq::sockopt::linger, linger_ms);
    socket_.close();
  }

 private:
  std::atomic<uint64_t>& dropped_;
  zmq::socket_t socket_;
  bool direct_ = false;
  const char* name_ = "";
  uint64_t replies_ = 0;
};

}  // namespace zfleet::broker
