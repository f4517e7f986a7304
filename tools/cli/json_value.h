// JSON <-> msgpack for the command line: task args and kwargs (and the lines
// of submit-batch) are typed as JSON and travel as msgpack; replies travel
// as msgpack and are printed as JSON. Parsing and printing are
// nlohmann-json's; what this file adds is the mapping and its one rule
// (docs/cli.md, "JSON and msgpack"):
//
//   JSON -> msgpack: null, true/false, integers (int64 or uint64), floats
//     (float64), strings (str), arrays, objects (map with str keys, in the
//     order written; a repeated key keeps its last value). A string that
//     starts with "base64:" is decoded into msgpack bin. Refused, with the
//     JSON pointer of the value: an integer beyond int64/uint64 (msgpack has
//     none), a number beyond float64 (1e400: JSON has no Infinity), invalid
//     base64 after the prefix, nesting deeper than kMaxJsonDepth. A syntax
//     error names its line, column and byte offset.
//   msgpack -> JSON: bin is printed as "base64:<standard base64>"; NaN and
//     +-Infinity as null (JSON has no such numbers; JavaScript's
//     JSON.stringify does the same); a str that is not valid UTF-8 has each
//     bad byte replaced by U+FFFD; a non-str map key is printed as its JSON
//     text; an ext value as {"ext": TYPE, "data": "base64:..."}.
//
// Thread safety: functions only.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

namespace zfleet::cli {

// Order-preserving, so a reply prints with "op" first and kwargs keep the
// order they were typed in.
using Json = nlohmann::ordered_json;

// Deeper JSON is refused (the converters recurse; the broker refuses much
// less deep bodies anyway, see DecodeLimits::max_depth).
inline constexpr std::size_t kMaxJsonDepth = 512;

// Parses one JSON text (nothing but whitespace after it). The error names
// where: "not valid JSON at line 1, column 3 (byte 3): ..." for syntax, or
// "at /0/x: ..." (a JSON pointer) for a value msgpack cannot carry.
std::expected<Json, std::string> parse_json(std::string_view text);

// `value` as msgpack under the rule above. `where` is the JSON pointer of
// `value` itself, for error messages ("" = the top).
std::expected<std::string, std::string> json_value_to_msgpack(const Json& value,
                                                              const std::string& where = "");

// parse_json, then json_value_to_msgpack.
std::expected<std::string, std::string> json_to_msgpack(std::string_view text);

// A msgpack object as a JSON value under the rule above.
Json msgpack_to_json(const msgpack::object& o);

// A msgpack object as JSON text: compact when indent <= 0, else that many
// spaces per level. Always valid UTF-8 JSON.
std::string to_json(const msgpack::object& o, int indent = 0);

// Dumps a Json value as to_json does (invalid UTF-8 replaced).
std::string dump_json(const Json& value, int indent = 0);

}  // namespace zfleet::cli
