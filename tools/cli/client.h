// Client: one request/reply exchange with a zfleet endpoint, over a REQ
// socket, with a deadline (a broker that is down gives a clear error, not a
// hang).
//
// Thread safety: one Client per thread (it owns a ZeroMQ socket).
#pragma once

#include <chrono>
#include <expected>
#include <string>

#include <zmq.hpp>

#include "common/codec.h"
#include "common/curve_keys.h"

namespace zfleet::cli {

class Client {
 public:
  Client(zmq::context_t& ctx, const std::string& endpoint, std::chrono::milliseconds timeout,
         const common::CurveOptions& curve = {});
  // Sends `body`, waits up to the timeout (plus `extra`, for long-poll gets).
  std::expected<common::Reply, std::string> call(const std::string& body,
                                                 std::chrono::milliseconds extra = {});

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  bool curve_ = false;
  std::chrono::milliseconds timeout_;
  zmq::message_t last_;  // keeps the reply bytes that a Reply points into
};

}  // namespace zfleet::cli
