#include "tools/cli/client.h"

#include "common/frames.h"
#include "common/sockets.h"

namespace zfleet::cli {

Client::Client(zmq::context_t& ctx, const std::string& endpoint, std::chrono::milliseconds timeout,
               const common::CurveOptions& curve)
    : endpoint_(endpoint), curve_(curve.enabled()), timeout_(timeout) {
  common::SocketOptions o;
  o.immediate = true;  // under CURVE: a refused handshake never makes a pipe
  o.curve = curve;
  socket_ = common::make_socket(ctx, zmq::socket_type::req, o);
  socket_.connect(endpoint);
}

std::expected<common::Reply, std::string> Client::call(const std::string& body,
                                                       std::chrono::milliseconds extra) {
  auto deadline = std::chrono::steady_clock::now() + timeout_ + extra;
  zmq::pollitem_t out[] = {{socket_.handle(), 0, ZMQ_POLLOUT, 0}};
  zmq::poll(out, 1, timeout_);
  if (!(out[0].revents & ZMQ_POLLOUT) ||
      !socket_.send(zmq::buffer(body), zmq::send_flags::dontwait)) {
    return std::unexpected("no broker answering at " + endpoint_ +
                           (curve_ ? " (or it refused this key: is its .pub in the broker's security lists?)" : ""));
  }
  zmq::pollitem_t in[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  zmq::poll(in, 1, std::max(left, std::chrono::milliseconds(0)));
  if (!(in[0].revents & ZMQ_POLLIN)) return std::unexpected("no reply from " + endpoint_ + " in time");
  last_ = zmq::message_t();
  (void)socket_.recv(last_);
  return common::decode_reply(common::view(last_));
}

}  // namespace zfleet::cli
