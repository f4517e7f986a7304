// The internal broker <-> worker link, both directions (common/worker_link.h):
// the frames after the ROUTER identity, built from the input split on 0xC1,
// go through link_command and every decoder the broker (READY, RESULT) and
// the worker (TASK, CLEAR, CANCEL, WELCOME) apply, whatever the command frame says,
// since the decoders must not trust their callers' dispatch either.
//
// Property: whatever a decoder accepts, encoded again and decoded again,
// encodes to the same frames (decode o encode is the identity on what the
// encoders produce; compared as bytes, so it holds for fields added later).
#include "common/worker_link.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace zfleet::common;
using zfleet::fuzz::same_frames;

// Frames as a worker's DEALER receives them, or the broker's ROUTER after
// the identity: the command frame first (first = 0), as the encoders write.
template <class Decode, class Encode>
void check_round_trip(const Frames& f, Decode decode, Encode encode) {
  auto v1 = decode(f, 0);
  if (!v1) return;
  Frames e1 = encode(*v1);
  auto v2 = decode(e1, 0);
  FUZZ_CHECK(v2.has_value());
  Frames e2 = encode(*v2);
  FUZZ_CHECK(same_frames(e1, e2));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Frames f = zfleet::fuzz::to_frames(zfleet::fuzz::split_frames(zfleet::fuzz::as_view(data, size)));
  (void)link_command(f.front());

  check_round_trip(f, decode_ready, encode_ready);
  check_round_trip(f, decode_task, [](const TaskMessage& t) {
    return encode_task(t.id, t.dispatch, t.attempt, t.timeout_ms, t.payload);
  });
  check_round_trip(f, decode_result, encode_result);
  check_round_trip(f, decode_clear, encode_clear);
  check_round_trip(f, decode_cancel, encode_cancel);
  check_round_trip(f, decode_welcome, encode_welcome);
  return 0;
}
