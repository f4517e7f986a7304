// Decoding of untrusted msgpack task payloads (args, kwargs) in the worker.
// The broker forwards these bytes opaquely, so anything can arrive.
//
// decode_untrusted() is common::decode_msgpack (an allocation-free
// validating pass, then unpack with limits) with the element budget set to
// the input length: every element takes at least one byte, so honest input
// never exceeds it, while nested headers claiming huge sizes cannot make the
// object builder pre-allocate more than a small multiple of the input.
//
// Thread safety: pure functions, safe from any thread; no Python.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace zfleet::worker {

// Deepest nesting of containers in one value (both directions of py_msgpack).
inline constexpr uint32_t kMaxMsgpackDepth = 64;

// Exactly one msgpack value, containers nested at most `max_depth` deep, no
// ext, no trailing bytes. str/bin objects point INTO `bytes`: keep `bytes`
// alive as long as the handle.
std::expected<msgpack::object_handle, std::string> decode_untrusted(std::string_view bytes,
                                                                    uint32_t max_depth);

// The exact bytes of element 0 of `array_bytes`, a msgpack array that
// decode_untrusted() has accepted; empty when the array is empty.
std::string_view first_element(std::string_view array_bytes);

}  // namespace zfleet::worker
