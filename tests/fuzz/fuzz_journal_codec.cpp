// Journal record payloads, as replay reads them back from disk
// (common/journal_codec.h: decode_accept, decode_dispatch, decode_retry,
// decode_finish). The whole input goes to each decoder.
//
// Property: a payload a decoder accepts, encoded again (encode_journal) and
// decoded again, encodes to the same bytes.
#include "common/journal_codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace zfleet::common;

template <class Decode>
void check_round_trip(std::string_view payload, Decode decode) {
  auto r1 = decode(payload);
  if (!r1) return;
  std::string e1 = encode_journal(*r1);
  auto r2 = decode(e1);
  FUZZ_CHECK(r2.has_value());
  FUZZ_CHECK(encode_journal(*r2) == e1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload = zfleet::fuzz::as_view(data, size);
  check_round_trip(payload, decode_accept);
  check_round_trip(payload, decode_dispatch);
  check_round_trip(payload, decode_retry);
  check_round_trip(payload, decode_finish);
  return 0;
}
