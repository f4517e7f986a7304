#include "broker/request_frames.h"

namespace zfleet::broker {

std::expected<std::string_view, common::WireError> request_body(common::Message& msg,
                                                                std::size_t max_bytes,
                                                                std::string* corr) {
  using common::ErrorCode;
  // frames[0] is the ROUTER identity the proxy passed along.
  std::size_t client_frames = msg.total_frames - 1;
  if (client_frames > kMaxRequestFrames || client_frames == 0) {
    if (corr && !msg.truncated() && msg.frames.size() > 1)
      *corr = common::recover_corr(common::view(msg.frames.back()));
    std::size_t keep = 1;
    if (msg.frames.size() > 2 && msg.frames[1].size() == 0) keep = 2;
    msg.frames.resize(keep);
    msg.frames.emplace_back();  // placeholder "body", replaced by the reply
    return std::unexpected(common::WireError{
        ErrorCode::bad_request, "a request has at most " + std::to_string(kMaxRequestFrames) +
                                    " frames, got " + std::to_string(client_frames)});
  }
  // The limit is on what the client sent: the identity frame is the
  // broker's own, and counting it would refuse a body of exactly max_bytes.
  std::size_t client_bytes = msg.total_bytes - msg.frames.front().size();
  if (client_bytes > max_bytes) {
    if (corr) *corr = common::recover_corr(common::view(msg.frames.back()));
    return std::unexpected(common::WireError{
        ErrorCode::too_large, "message of " + std::to_string(client_bytes) +
                                  " bytes is over max_message_bytes " + std::to_string(max_bytes)});
  }
  return common::view(msg.frames.back());
}

std::vector<zmq::message_t> take_envelope(common::Message& msg) {
  std::vector<zmq::message_t> env;
  env.reserve(msg.frames.size());
  for (std::size_t i = 0; i + 1 < msg.frames.size(); ++i) env.push_back(std::move(msg.frames[i]));
  return env;
}

}  // namespace zfleet::broker
