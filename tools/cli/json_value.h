// JSON <-> msgpack for the command line: task args and kwargs are typed as
// JSON on the command line and travel as msgpack; results travel as msgpack
// and are printed as JSON. JSON is parsed with yaml-cpp (JSON is YAML flow
// syntax), so no JSON parser is written here: quoted scalars are strings,
// plain ones are null, booleans, integers or floats when they read as such.
//
// Thread safety: functions only.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace zfleet::cli {

// Parses `json` into msgpack bytes; the error names what is wrong.
std::expected<std::string, std::string> json_to_msgpack(std::string_view json);

// Renders a msgpack object as JSON (bin as a base64 string prefixed
// "base64:", non-string map keys as their JSON text).
std::string to_json(const msgpack::object& o, int indent = 0);

}  // namespace zfleet::cli
