// StatusPoller: the `status` requests of `zfleet status --watch`, one at a
// time, without blocking. Client (client.h) waits inside call(); a watch
// must keep reading keys and signals while the broker is slow or down, so
// this one hands out its socket as a poll item and the watch loop polls it
// together with the terminal.
//
// Contract: start() queues a request (sent as soon as the socket can send:
// immediate, so never to a connection still being made); after a poll,
// on_ready() sends it or reads the reply. A request not answered by its
// deadline is given up by expire(), which also replaces the REQ socket,
// because a REQ socket cannot send again before it has its reply.
//
// Thread safety: one thread (it owns a ZeroMQ socket).
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/codec.h"
#include "common/curve_keys.h"

namespace zfleet::cli {

class StatusPoller {
 public:
  using Clock = std::chrono::steady_clock;

  StatusPoller(zmq::context_t& ctx, std::string endpoint, common::CurveOptions curve);

  // Queues a request unless one is outstanding; it must be answered by
  // `deadline`.
  void start(Clock::time_point deadline);
  bool busy() const { return state_ != State::idle; }
  Clock::time_point deadline() const { return deadline_; }

  // This socket for zmq::poll: POLLOUT while the request waits to be sent,
  // POLLIN while it waits for the reply, nothing when idle.
  zmq::pollitem_t poll_item();

  // After a poll that set `revents` on poll_item(): the reply if it came
  // (or why it cannot be read). The Reply points into bytes kept here until
  // the next call.
  std::optional<std::expected<common::Reply, std::string>> on_ready(short revents);

  // True when a request was outstanding past its deadline at `now` (it is
  // then dropped and the socket replaced).
  bool expire(Clock::time_point now);

 private:
  enum class State { idle, to_send, sent };
  void reconnect();

  zmq::context_t& ctx_;
  std::string endpoint_;
  common::CurveOptions curve_;
  zmq::socket_t socket_;
  State state_ = State::idle;
  Clock::time_point deadline_{};
  zmq::message_t last_;
};

}  // namespace zfleet::cli
