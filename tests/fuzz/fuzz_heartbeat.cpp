// Worker heartbeats as the broker's status SUB receives them
// (common::decode_heartbeat): ["hb"][map], built from the input split on
// 0xC1.
//
// Property: an accepted heartbeat, encoded again and decoded again, encodes
// to the same frames.
#include "common/worker_link.h"
#include "tests/fuzz/fuzz_support.h"

using namespace zfleet::common;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Frames f = zfleet::fuzz::to_frames(zfleet::fuzz::split_frames(zfleet::fuzz::as_view(data, size)));
  auto hb = decode_heartbeat(f);
  if (!hb) return 0;
  FUZZ_CHECK(!hb->info.id.empty());
  Frames e1 = encode_heartbeat(*hb);
  auto hb2 = decode_heartbeat(e1);
  FUZZ_CHECK(hb2.has_value());
  FUZZ_CHECK(zfleet::fuzz::same_frames(e1, encode_heartbeat(*hb2)));
  return 0;
}
