// The CLI's JSON input (cli::json_to_msgpack: task args and kwargs typed on
// the command line, parsed with yaml-cpp as YAML flow syntax).
//
// Properties: what it accepts is exactly one well-formed msgpack object, and
// rendering that back (cli::to_json, as the CLI prints results) gives JSON
// it accepts again. Rendering and parsing reach a fixed point after two
// passes: each may lose what JSON text cannot carry (the first drops YAML
// syntax and turns 1.0 into 1; -0.0 prints as -0, which parses as the
// integer 0, so that one takes a second pass).
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const common::DecodeLimits limits = unlimited();
  auto packed = cli::json_to_msgpack(fuzz::as_view(data, size));
  if (!packed) return 0;
  std::string json;
  for (int pass = 0; pass < 3; ++pass) {
    auto obj = common::decode_msgpack(*packed, limits);
    FUZZ_CHECK(obj.has_value());
    std::string again = cli::to_json(obj->get());
    if (pass == 2) FUZZ_CHECK(again == json);
    json = std::move(again);
    packed = cli::json_to_msgpack(json);
    FUZZ_CHECK(packed.has_value());
  }
  return 0;
}
