#include "worker/exec/msgpack_check.h"

#include "common/msgpack_io.h"

namespace zfleet::worker {

std::expected<msgpack::object_handle, std::string> decode_untrusted(std::string_view bytes,
                                                                    uint32_t max_depth) {
  common::DecodeLimits limits;
  limits.max_depth = max_depth;
  limits.max_elements = bytes.size();
  return common::decode_msgpack(bytes, limits);
}

std::string_view first_element(std::string_view array_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(array_bytes.data());
  std::size_t off = 0;
  uint32_t count = 0;
  if (array_bytes.empty()) return {};
  if ((p[0] & 0xf0) == 0x90) {
    count = p[0] & 0x0f;
    off = 1;
  } else if (p[0] == 0xdc && array_bytes.size() >= 3) {
    count = (uint32_t{p[1]} << 8) | p[2];
    off = 3;
  } else if (p[0] == 0xdd && array_bytes.size() >= 5) {
    count = (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | p[4];
    off = 5;
  }
  if (count == 0 || off >= array_bytes.size()) return {};
  const std::size_t begin = off;
  msgpack::null_visitor skip;  // already validated: only finds where element 0 ends
  if (!msgpack::parse(array_bytes.data(), array_bytes.size(), off, skip)) return {};
  return array_bytes.substr(begin, off - begin);
}

}  // namespace zfleet::worker
