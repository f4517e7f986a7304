// The framing rules of ZFP/1 requests, applied by every request thread: at
// most 8 frames, the body last and at most broker.max_message_bytes, the
// envelope (every frame before the body, after the ROUTER identity)
// returned unchanged with the reply.
//
// Thread safety: functions only; the socket must belong to the caller.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "common/codec.h"
#include "common/frames.h"

namespace zfleet::broker {

inline constexpr std::size_t kMaxRequestFrames = 8;

// The body of a request received as [identity, ...envelope, body], or the
// error to answer with. On error, `msg` is trimmed to the envelope that can
// still be recovered (identity, plus an empty delimiter if one followed),
// and `corr` (when given) receives the request's corr if the body could be
// read, so even the error reply echoes it.
std::expected<std::string_view, common::WireError> request_body(common::Message& msg,
                                                                std::size_t max_bytes,
                                                                std::string* corr = nullptr);

// Moves the envelope of `msg` (all frames but the body) out, to answer later.
// ClientSocket::reply sends the answer along it.
std::vector<zmq::message_t> take_envelope(common::Message& msg);

}  // namespace zfleet::broker
