// Multipart message I/O on ZeroMQ sockets, with the frame cap of ZFP/1.
//
// A ROUTER that must survive garbage receives the WHOLE message (so nothing
// is left half-read on the socket) and judges the frame count afterwards;
// cppzmq's recv_multipart_n would throw and leave frames behind.
//
// Thread safety: functions only; the socket passed must belong to the
// calling thread (ZeroMQ sockets are not thread safe).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace zfleet::common {

// A received multipart message. Frames past `kMaxKeptFrames` are counted and
// dropped rather than kept, so a hostile many-frame message costs no memory.
struct Message {
  static constexpr std::size_t kMaxKeptFrames = 16;
  std::vector<zmq::message_t> frames;
  std::size_t total_frames = 0;  // including frames that were dropped
  std::size_t total_bytes = 0;   // sum of all frame sizes

  bool truncated() const { return total_frames > frames.size(); }
  void clear() {
    frames.clear();
    total_frames = 0;
    total_bytes = 0;
  }
};

// Receives one whole message. Returns false when nothing was available
// (with `flags` = dontwait) or the context is shutting down.
bool recv_message(zmq::socket_t& socket, Message& out,
                  zmq::recv_flags flags = zmq::recv_flags::none);

// Sends frames as one message, without blocking (dontwait). Returns false if
// the first frame could not be queued (peer unknown, or its high-water mark
// reached): then nothing was sent. Frames are moved out of.
bool send_frames(zmq::socket_t& socket, std::span<zmq::message_t> frames);

inline std::string_view view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}

}  // namespace zfleet::common
