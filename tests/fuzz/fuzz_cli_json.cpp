// The CLI's JSON input (cli::json_to_msgpack: task args and kwargs typed on
// the command line, parsed with yaml-cpp as YAML flow syntax).
//
// Properties: what it accepts is exactly one well-formed msgpack object, and
// rendering that back (cli::to_json, as the CLI prints results) gives JSON
// it accepts again. Rendering and parsing reach a fixed point after two
// passes: each may lose what JSON text cannot carry (the first drops YAML
// syntax and turns 1.0 into 1; -0.0 prints as -0, which parses as the
// integer 0, so that one takes a second pass).
//
// Known limit (found here, pinned in tests/unit/fuzz_regressions_test.cpp):
// YAML allows an implicit map key of at most 1024 characters, so JSON whose
// object key is longer, as written, is refused ("end of map flow not
// found"), and that includes to_json's rendering of a long key. The round
// trip is not checked for such values.
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

// A map key that to_json renders (quotes and escapes included) near or over
// YAML's 1024-character limit on implicit keys, anywhere in `o`.
bool has_long_key(const msgpack::object& o) {
  if (o.type == msgpack::type::ARRAY) {
    for (uint32_t i = 0; i < o.via.array.size; ++i) {
      if (has_long_key(o.via.array.ptr[i])) return true;
    }
  } else if (o.type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      if (cli::to_json(o.via.map.ptr[i].key).size() > 1000) return true;
      if (has_long_key(o.via.map.ptr[i].val)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const common::DecodeLimits limits = unlimited();
  auto packed = cli::json_to_msgpack(fuzz::as_view(data, size));
  if (!packed) return 0;
  std::string bytes = std::move(*packed), json;
  for (int pass = 0; pass < 3; ++pass) {
    auto obj = common::decode_msgpack(bytes, limits);  // points into `bytes`
    FUZZ_CHECK(obj.has_value());
    std::string again = cli::to_json(obj->get());
    if (pass == 2) FUZZ_CHECK(again == json);
    json = std::move(again);
    auto next = cli::json_to_msgpack(json);
    if (!next && has_long_key(obj->get())) return 0;
    FUZZ_CHECK(next.has_value());
    bytes = std::move(*next);
  }
  return 0;
}
