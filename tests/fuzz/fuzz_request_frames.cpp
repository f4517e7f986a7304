// The framing of a request as a request thread receives it
// (broker::request_body, broker::take_envelope): [identity][...envelope][body],
// built from the input split on 0xC1, with recv_message's bookkeeping (at
// most Message::kMaxKeptFrames frames kept, all counted). The body, when the
// framing accepts it, goes on to decode_request as in IntakeThread.
//
// Properties:
// - an accepted body is the last frame, and the envelope is every frame
//   before it;
// - a refused frame count leaves [identity][empty delimiter if one
//   followed][placeholder], so the error reply goes back to the right peer;
// - a refused size keeps the frames as they were.
#include <string>

#include "broker/request_frames.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace zfleet;

constexpr size_t kMaxBytes = 1024;  // broker.max_message_bytes at its minimum

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::split_frames(fuzz::as_view(data, size));
  common::Message msg;
  for (std::string_view p : parts) {
    ++msg.total_frames;
    msg.total_bytes += p.size();
    if (msg.frames.size() < common::Message::kMaxKeptFrames) msg.frames.emplace_back(p.data(), p.size());
  }
  const size_t kept = msg.frames.size();
  const std::string identity(parts.front());
  const bool delimiter = kept > 2 && parts[1].empty();

  std::string corr;
  auto body = broker::request_body(msg, kMaxBytes, &corr);
  if (body) {
    FUZZ_CHECK(kept == parts.size());
    FUZZ_CHECK(*body == parts.back());
    FUZZ_CHECK(corr.empty());
    std::string copy(*body);  // the envelope is moved out below
    auto envelope = broker::take_envelope(msg);
    FUZZ_CHECK(envelope.size() == parts.size() - 1);
    for (size_t i = 0; i < envelope.size(); ++i) FUZZ_CHECK(fuzz::view(envelope[i]) == parts[i]);
    common::CodecLimits limits;
    (void)common::decode_request(copy, limits);
    return 0;
  }
  if (body.error().code == common::ErrorCode::too_large) {
    FUZZ_CHECK(msg.frames.size() == kept);
    FUZZ_CHECK(corr == common::recover_corr(parts.back()));
  } else {
    FUZZ_CHECK(msg.frames.size() == (delimiter ? 3u : 2u));
    FUZZ_CHECK(fuzz::view(msg.frames.front()) == identity);
    FUZZ_CHECK(msg.frames.back().size() == 0);
  }
  auto envelope = broker::take_envelope(msg);
  FUZZ_CHECK(!envelope.empty() && fuzz::view(envelope.front()) == identity);
  return 0;
}
