// The CLI's JSON <-> msgpack mapping (tools/cli/json_value: task args and
// kwargs typed on the command line and the lines of submit-batch, parsed
// with nlohmann-json; replies printed as JSON).
//
// Properties:
//  - what json_to_msgpack accepts is exactly one well-formed msgpack object,
//    and printing it (to_json, as the CLI prints results) gives JSON that
//    json_to_msgpack turns into the very same bytes: one pass is a fixed
//    point (floats print in their shortest round-trip form, bin prints as
//    canonical base64, "base64:" strings only ever come back as bin);
//  - whatever msgpack a broker could send, the printer writes valid JSON
//    (NaN, Infinity, bytes that are not UTF-8, non-string keys, ext).
#include <string>

#include "common/msgpack_io.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/cli/json_value.h"

using namespace zfleet;

namespace {

// As deep and as large as the input can make it: only well-formedness is
// checked here, not the broker's limits.
common::DecodeLimits unlimited() {
  common::DecodeLimits l;
  l.max_depth = 1 << 20;
  l.max_elements = SIZE_MAX;
  return l;
}

void json_round_trip(std::string_view text) {
  static const common::DecodeLimits limits = unlimited();
  auto packed = cli::json_to_msgpack(text);
  if (!packed) return;
  auto obj = common::decode_msgpack(*packed, limits);  // points into *packed
  FUZZ_CHECK(obj.has_value());
  std::string json = cli::to_json(obj->get());
  auto again = cli::json_to_msgpack(json);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *packed);
}

void printer_writes_json(std::string_view bytes) {
  auto obj = common::decode_msgpack(bytes);  // the limits replies are read with
  if (!obj) return;
  FUZZ_CHECK(cli::Json::accept(cli::to_json(obj->get())));
  FUZZ_CHECK(cli::Json::accept(cli::to_json(obj->get(), 2)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json_round_trip(fuzz::as_view(data, size));
  printer_writes_json(fuzz::as_view(data, size));
  return 0;
}
