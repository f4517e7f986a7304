#include "common/frames.h"

namespace zfleet::common {

bool recv_message(zmq::socket_t& socket, Message& out, zmq::recv_flags flags) {
  out.clear();
  zmq::message_t frame;
  try {
    if (!socket.recv(frame, flags)) return false;
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM || e.num() == EINTR) return false;
    throw;
  }
  // Once the first frame is in, the rest of the message is already queued
  // (ZeroMQ delivers messages atomically), so these receives never block.
  for (;;) {
    ++out.total_frames;
    out.total_bytes += frame.size();
    bool more = frame.more();
    if (out.frames.size() < Message::kMaxKeptFrames) out.frames.push_back(std::move(frame));
    if (!more) break;
    frame = zmq::message_t();
    (void)socket.recv(frame, zmq::recv_flags::none);
  }
  return true;
}

bool send_frames(zmq::socket_t& socket, std::span<zmq::message_t> frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto flags = zmq::send_flags::dontwait;
    if (i + 1 < frames.size()) flags = flags | zmq::send_flags::sndmore;
    zmq::send_result_t sent;
    try {
      sent = socket.send(frames[i], flags);
    } catch (const zmq::error_t& e) {
      // EHOSTUNREACH (ROUTER_MANDATORY, unknown peer) can only happen on the
      // first frame; ETERM means we are stopping. Either way: not sent.
      if (i == 0) return false;
      throw;
    }
    if (!sent) {
      if (i == 0) return false;  // high-water mark: nothing was queued
      // Later frames of a started message always go through in libzmq.
    }
  }
  return true;
}

}  // namespace zfleet::common
