#include "common/msgpack_io.h"

#include <cstring>

namespace zfleet::common {
namespace {

// Walks a msgpack body without building objects, refusing what the object
// builder could be tricked into over-allocating for.
class ValidatingVisitor : public msgpack::null_visitor {
 public:
  explicit ValidatingVisitor(const DecodeLimits& limits) : limits_(limits) {}

  bool visit_ext(const char*, uint32_t) { return fail("ext types are not accepted"); }
  bool start_array(uint32_t n) { return open(n); }
  bool end_array() { return close(); }
  bool start_map(uint32_t n) { return open(n); }
  bool end_map() { return close(); }
  void parse_error(std::size_t, std::size_t) { set("malformed msgpack"); }
  void insufficient_bytes(std::size_t, std::size_t) { set("truncated msgpack"); }

  const std::string& error() const { return error_; }

 private:
  bool open(uint32_t n) {
    if (++depth_ > limits_.max_depth) return fail("msgpack nested too deeply");
    elements_ += n;
    if (elements_ > limits_.max_elements) return fail("msgpack has too many elements");
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  bool fail(const char* why) {
    set(why);
    return false;
  }
  void set(const char* why) {
    if (error_.empty()) error_ = why;
  }

  const DecodeLimits& limits_;
  std::size_t depth_ = 0;
  std::size_t elements_ = 0;
  std::string error_;
};

bool reference_strings(msgpack::type::object_type, std::size_t, void*) { return true; }

}  // namespace

std::expected<msgpack::object_handle, std::string> decode_msgpack(std::string_view bytes,
                                                                  const DecodeLimits& limits) {
  if (bytes.empty()) return std::unexpected("empty body");
  ValidatingVisitor visitor(limits);
  std::size_t off = 0;
  bool ok = msgpack::parse(bytes.data(), bytes.size(), off, visitor);
  if (!ok) return std::unexpected(visitor.error().empty() ? "malformed msgpack" : visitor.error());
  if (off != bytes.size()) return std::unexpected("trailing bytes after the msgpack body");
  try {
    // Validated above, so these limits cannot be reached by honest input;
    // they only bound what a validator bug could let through.
    msgpack::unpack_limit limit(bytes.size(), bytes.size() / 2 + 1, bytes.size(), bytes.size(),
                                0, limits.max_depth + 1);
    std::size_t off2 = 0;
    bool referenced = false;
    return msgpack::unpack(bytes.data(), bytes.size(), off2, referenced, &reference_strings,
                           nullptr, limit);
  } catch (const std::exception& e) {
    return std::unexpected(std::string("malformed msgpack: ") + e.what());
  }
}

void append_float64(std::string& out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out.append(buf, sizeof buf);
}

void append_float32(std::string& out, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  char buf[5];
  buf[0] = static_cast<char>(0xca);
  for (int i = 0; i < 4; ++i) buf[1 + i] = static_cast<char>(bits >> (24 - 8 * i));
  out.append(buf, sizeof buf);
}

void append_msgpack(std::string& out, const msgpack::object& obj) {
  StringSink sink{out};
  msgpack::packer<StringSink> pk(sink);
  switch (obj.type) {
    case msgpack::type::FLOAT64:
      append_float64(out, obj.via.f64);
      return;
    case msgpack::type::FLOAT32:
      append_float32(out, static_cast<float>(obj.via.f64));
      return;
    case msgpack::type::ARRAY:
      pk.pack_array(obj.via.array.size);
      for (uint32_t i = 0; i < obj.via.array.size; ++i) append_msgpack(out, obj.via.array.ptr[i]);
      return;
    case msgpack::type::MAP:
      pk.pack_map(obj.via.map.size);
      for (uint32_t i = 0; i < obj.via.map.size; ++i) {
        append_msgpack(out, obj.via.map.ptr[i].key);
        append_msgpack(out, obj.via.map.ptr[i].val);
      }
      return;
    default:
      pk.pack(obj);  // scalars, str, bin, ext: encoded as they are
  }
}

const msgpack::object* find_field(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return nullptr;
  const auto& m = map.via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    const auto& k = m.ptr[i].key;
    if (k.type == msgpack::type::STR && as_view(k) == key) return &m.ptr[i].val;
  }
  return nullptr;
}

uint64_t uint_or_zero(const msgpack::object& map, std::string_view key) {
  const msgpack::object* v = find_field(map, key);
  return v && v->type == msgpack::type::POSITIVE_INTEGER ? v->via.u64 : 0;
}

std::string str_or_empty(const msgpack::object& map, std::string_view key) {
  const msgpack::object* v = find_field(map, key);
  return v && v->type == msgpack::type::STR ? std::string(as_view(*v)) : std::string();
}

std::expected<std::optional<std::string_view>, FieldError> str_field(const msgpack::object& map,
                                                                     std::string_view key) {
  const msgpack::object* v = find_field(map, key);
  if (!v || v->type == msgpack::type::NIL) return std::optional<std::string_view>();
  if (v->type != msgpack::type::STR)
    return std::unexpected(FieldError{"field '" + std::string(key) + "' must be a string"});
  return std::optional<std::string_view>(as_view(*v));
}

std::expected<std::optional<uint64_t>, FieldError> uint_field(const msgpack::object& map,
                                                              std::string_view key) {
  const msgpack::object* v = find_field(map, key);
  if (!v || v->type == msgpack::type::NIL) return std::optional<uint64_t>();
  if (v->type != msgpack::type::POSITIVE_INTEGER)
    return std::unexpected(
        FieldError{"field '" + std::string(key) + "' must be a non-negative integer"});
  return std::optional<uint64_t>(v->via.u64);
}

std::expected<std::optional<bool>, FieldError> bool_field(const msgpack::object& map,
                                                          std::string_view key) {
  const msgpack::object* v = find_field(map, key);
  if (!v || v->type == msgpack::type::NIL) return std::optional<bool>();
  if (v->type != msgpack::type::BOOLEAN)
    return std::unexpected(FieldError{"field '" + std::string(key) + "' must be true or false"});
  return std::optional<bool>(v->via.boolean);
}

}  // namespace zfleet::common
