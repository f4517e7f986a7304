// Safe msgpack decoding of untrusted bytes, and small helpers to read typed
// fields out of a decoded map. Used only by the codecs in common/.
//
// Hostile input is the normal case on a public endpoint: a 5-byte body can
// claim an array of 4 billion elements, and msgpack-c's object builder
// allocates for the claimed count before reading it. So every body is first
// walked by msgpack's allocation-free parser with a validating visitor
// (depth, element count, no ext, exactly one object with no trailing bytes),
// and only then unpacked into objects, whose total size is then bounded by
// the input length.
//
// Thread safety: functions only; safe from any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace zfleet::common {

struct DecodeLimits {
  std::size_t max_depth = 32;           // nesting of arrays/maps
  std::size_t max_elements = 1000000;   // array items + map pairs in the whole body
};

// Validates and unpacks exactly one msgpack object from `bytes`. Strings and
// binaries point INTO `bytes` (zero copy): the caller keeps `bytes` alive as
// long as the handle. On failure returns a message fit for a bad_request.
std::expected<msgpack::object_handle, std::string> decode_msgpack(std::string_view bytes,
                                                                  const DecodeLimits& limits = {});

// Appends the msgpack encoding of `obj` to `out`. Floats stay floats:
// msgpack-cxx 4.1's packer writes a whole-valued double (3.0) as an integer,
// which would turn a client's 3.0 into 3 on the way through.
void append_msgpack(std::string& out, const msgpack::object& obj);

// Appends a float64 / float32 exactly as given (never as an integer).
void append_float64(std::string& out, double d);
void append_float32(std::string& out, float f);

// Map field access. `find_field` returns nullptr when `map` has no such str
// key. The typed readers return nullopt when the field is absent and an
// error message (naming the field) when it has the wrong type.
const msgpack::object* find_field(const msgpack::object& map, std::string_view key);

// Lenient readers, for display (the CLI's status views): 0 or "" when the
// field is absent or of another type.
uint64_t uint_or_zero(const msgpack::object& map, std::string_view key);
std::string str_or_empty(const msgpack::object& map, std::string_view key);

struct FieldError {
  std::string message;
};
std::expected<std::optional<std::string_view>, FieldError> str_field(const msgpack::object& map,
                                                                     std::string_view key);
std::expected<std::optional<uint64_t>, FieldError> uint_field(const msgpack::object& map,
                                                              std::string_view key);
std::expected<std::optional<bool>, FieldError> bool_field(const msgpack::object& map,
                                                          std::string_view key);

inline std::string_view as_view(const msgpack::object& o) {
  return o.type == msgpack::type::STR ? std::string_view(o.via.str.ptr, o.via.str.size)
                                      : std::string_view();
}

// A std::string used as a msgpack sink (msgpack::packer<StringSink>), so that
// encoded bytes land directly in the string that becomes a frame.
struct StringSink {
  std::string& s;
  void write(const char* data, std::size_t n) { s.append(data, n); }
};

}  // namespace zfleet::common
