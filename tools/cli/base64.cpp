#include "tools/cli/base64.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace zfleet::cli {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Character -> 6-bit value, or -1.
constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) t[uint8_t(kAlphabet[i])] = int8_t(i);
  return t;
}
constexpr auto kTable = make_table();

std::string at(std::string_view what, std::size_t pos) {
  return std::string(what) + " at offset " + std::to_string(pos);
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::size_t n = std::min<std::size_t>(3, in.size() - i);
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (n > 1) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (n > 2) v |= uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::expected<std::string, std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::unexpected("base64 length " + std::to_string(in.size()) +
                                                 " is not a multiple of 4");
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    // Padding: only in the last group, as its last one or two characters.
    int pad = last ? (in[i + 3] == '=') + (in[i + 3] == '=' && in[i + 2] == '=') : 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int8_t d = k < 4 - pad ? kTable[uint8_t(in[i + k])] : 0;
      if (d < 0) return std::unexpected(at("invalid base64 character", i + k));
      v = v << 6 | uint32_t(d);
    }
    // Canonical form: the bits padding leaves over must be zero.
    if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
      return std::unexpected(at("non-canonical base64 (unused bits set)", i + 3 - pad));
    out += char(v >> 16);
    if (pad < 2) out += char(v >> 8 & 0xff);
    if (pad < 1) out += char(v & 0xff);
  }
  return out;
}

}  // namespace zfleet::cli
