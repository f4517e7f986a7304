#include "tools/cli/status_poller.h"

#include "common/frames.h"
#include "common/sockets.h"

namespace zfleet::cli {

StatusPoller::StatusPoller(zmq::context_t& ctx, std::string endpoint, common::CurveOptions curve)
    : ctx_(ctx), endpoint_(std::move(endpoint)), curve_(std::move(curve)) {
  reconnect();
}

void StatusPoller::reconnect() {
  common::SocketOptions o;
  o.immediate = true;  // as Client: under CURVE a refused handshake never makes a pipe
  o.curve = curve_;
  socket_ = common::make_socket(ctx_, zmq::socket_type::req, o);
  socket_.connect(endpoint_);
}

void StatusPoller::start(Clock::time_point deadline) {
  if (busy()) return;
  state_ = State::to_send;
  deadline_ = deadline;
}

zmq::pollitem_t StatusPoller::poll_item() {
  short events = state_ == State::to_send ? ZMQ_POLLOUT : state_ == State::sent ? ZMQ_POLLIN : 0;
  return {socket_.handle(), 0, events, 0};
}

std::optional<std::expected<common::Reply, std::string>> StatusPoller::on_ready(short revents) {
  if (state_ == State::to_send && (revents & ZMQ_POLLOUT)) {
    auto body = common::encode_status_request({});
    if (socket_.send(zmq::buffer(body), zmq::send_flags::dontwait)) state_ = State::sent;
    return std::nullopt;
  }
  if (state_ != State::sent || !(revents & ZMQ_POLLIN)) return std::nullopt;
  last_ = zmq::message_t();
  if (!socket_.recv(last_, zmq::recv_flags::dontwait)) return std::nullopt;
  state_ = State::idle;
  return common::decode_reply(common::view(last_));
}

bool StatusPoller::expire(Clock::time_point now) {
  if (!busy() || now < deadline_) return false;
  state_ = State::idle;
  reconnect();
  return true;
}

}  // namespace zfleet::cli
