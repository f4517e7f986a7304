// Base64 (RFC 4648, standard alphabet, with '=' padding) for the CLI's JSON
// rule: msgpack bin travels in JSON as a string "base64:<text>".
//
// decode accepts exactly what encode produces (the canonical form: length a
// multiple of 4, padding only at the end, unused bits zero, no whitespace),
// so that bin -> JSON -> bin -> JSON gives the same text at once.
//
// Thread safety: functions only.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace zfleet::cli {

std::string base64_encode(std::string_view bytes);

// The error names what is wrong and the offset in `text` where it is.
std::expected<std::string, std::string> base64_decode(std::string_view text);

}  // namespace zfleet::cli
