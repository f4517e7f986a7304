#include "tools/cli/json_value.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/msgpack_writer.h"
#include "tools/cli/base64.h"

namespace zfleet::cli {
namespace {

constexpr std::string_view kBase64Prefix = "base64:";

// "/a~1b/0": RFC 6901 escapes '~' and '/' in a key.
std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string at(const std::string& where) { return where.empty() ? "at the top: " : "at " + where + ": "; }

// Builds the DOM from nlohmann's SAX events, refusing what msgpack cannot
// carry where it is met, so the error can say where (a plain json::parse
// turns an integer past uint64 into a double and loses that it was one).
// `stack_` holds the open containers; each is the last element of the one
// below it, which gets no new element while it is open, so the pointers
// stay valid.
class StrictBuilder {
 public:
  using string_t = Json::string_t;

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(Json::number_integer_t v) { return put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(v); }
  bool number_float(Json::number_float_t v, const string_t& text) {
    if (text.find_first_of(".eE") == string_t::npos)
      return fail("integer " + text + " does not fit in 64 bits (msgpack integers are int64 or uint64)");
    return put(v);
  }
  bool string(string_t& s) { return put(std::move(s)); }
  bool binary(Json::binary_t&) { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool key(string_t& k) {
    keys_.back() = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception& e) {
    error_ = syntax_message(byte, e);
    return false;
  }

  Json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  static std::string syntax_message(std::size_t byte, const nlohmann::detail::exception& e) {
    std::string what = e.what();
    if (e.id == 406)  // number overflow: "1e400"
      return "number out of range of a 64-bit float at byte " + std::to_string(byte) +
             " (JSON has no Infinity): " + what.substr(what.find(']') + 2);
    // "[json.exception.parse_error.101] parse error at line 1, column 3: detail"
    auto line = what.find("at line ");
    auto colon = what.find(": ", line);
    if (line == std::string::npos || colon == std::string::npos)
      return "not valid JSON at byte " + std::to_string(byte) + ": " + what.substr(what.find(']') + 2);
    return "not valid JSON " + what.substr(line, colon - line) + " (byte " + std::to_string(byte) +
           ")" + what.substr(colon);
  }

  // The JSON pointer of the value being added now.
  std::string where() const {
    std::string out;
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      bool top = i + 1 == stack_.size();
      if (stack_[i]->is_array())
        out += "/" + std::to_string(stack_[i]->size() - (top ? 0 : 1));
      else
        out += "/" + pointer_token(keys_[i]);
    }
    return out;
  }

  bool fail(const std::string& message) {
    error_ = at(where()) + message;
    return false;
  }

  // Adds `v` where the parser is; returns false on error.
  bool put(Json v) {
    slot() = std::move(v);
    return true;
  }

  Json& slot() {
    if (stack_.empty()) return root_;
    Json& top = *stack_.back();
    if (top.is_array()) return top.emplace_back();
    return top[keys_.back()];
  }

  bool open(Json container) {
    if (stack_.size() >= kMaxJsonDepth)
      return fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    Json& s = slot();
    s = std::move(container);
    stack_.push_back(&s);
    keys_.emplace_back();
    return true;
  }

  bool close() {
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }

  Json root_;
  std::vector<Json*> stack_;
  std::vector<std::string> keys_;  // per open container: its current key (objects)
  std::string error_;
};

std::expected<void, std::string> pack(common::MsgpackWriter& w, const Json& v, std::string& where);

std::expected<void, std::string> pack_string(common::MsgpackWriter& w, const std::string& s,
                                             const std::string& where) {
  if (!s.starts_with(kBase64Prefix)) {
    w.str(s);
    return {};
  }
  auto bytes = base64_decode(std::string_view(s).substr(kBase64Prefix.size()));
  if (!bytes)
    return std::unexpected(at(where) + "a string starting \"base64:\" is sent as bin, and this "
                           "one is not valid base64: " + bytes.error());
  w.bin(*bytes);
  return {};
}

std::expected<void, std::string> pack_container(common::MsgpackWriter& w, const Json& v,
                                                std::string& where) {
  std::size_t mark = where.size();
  if (v.is_array()) {
    w.array(static_cast<uint32_t>(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) {
      where += "/" + std::to_string(i);
      if (auto r = pack(w, v[i], where); !r) return r;
      where.resize(mark);
    }
    return {};
  }
  w.map(static_cast<uint32_t>(v.size()));
  for (const auto& [key, item] : v.items()) {
    where += "/" + pointer_token(key);
    w.str(key);
    if (auto r = pack(w, item, where); !r) return r;
    where.resize(mark);
  }
  return {};
}

std::expected<void, std::string> pack(common::MsgpackWriter& w, const Json& v, std::string& where) {
  using T = Json::value_t;
  switch (v.type()) {
    case T::null: w.nil(); return {};
    case T::boolean: w.boolean(v.get<bool>()); return {};
    case T::number_integer: w.i64(v.get<int64_t>()); return {};
    case T::number_unsigned: w.u64(v.get<uint64_t>()); return {};
    case T::number_float:
      if (!std::isfinite(v.get<double>())) return std::unexpected(at(where) + "NaN and Infinity are not JSON");
      w.f64(v.get<double>());
      return {};
    case T::string: return pack_string(w, v.get_ref<const std::string&>(), where);
    case T::binary: {
      const auto& b = v.get_binary();
      w.bin(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      return {};
    }
    case T::array:
    case T::object:
      if (std::count(where.begin(), where.end(), '/') >= long(kMaxJsonDepth))
        return std::unexpected(at(where) + "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      return pack_container(w, v, where);
    default: return std::unexpected(at(where) + "no value");
  }
}

Json float_to_json(double d) {
  // NaN and Infinity print as null: nlohmann's dump does so for a
  // non-finite number already, this makes it explicit in the value too.
  if (!std::isfinite(d)) return nullptr;
  return d;
}

std::string map_key(const msgpack::object& k) {
  if (k.type == msgpack::type::STR) return std::string(k.via.str.ptr, k.via.str.size);
  return dump_json(msgpack_to_json(k));
}

}  // namespace

std::expected<Json, std::string> parse_json(std::string_view text) {
  StrictBuilder builder;
  if (!Json::sax_parse(text, &builder, nlohmann::detail::input_format_t::json, /*strict=*/true))
    return std::unexpected(builder.error());
  return std::move(builder.root());
}

std::expected<std::string, std::string> json_value_to_msgpack(const Json& value, const std::string& where) {
  std::string out, path = where;
  common::MsgpackWriter w(out);
  if (auto r = pack(w, value, path); !r) return std::unexpected(r.error());
  return out;
}

std::expected<std::string, std::string> json_to_msgpack(std::string_view text) {
  auto value = parse_json(text);
  if (!value) return std::unexpected(value.error());
  return json_value_to_msgpack(*value);
}

Json msgpack_to_json(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return nullptr;
    case msgpack::type::BOOLEAN: return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER: return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER: return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return float_to_json(o.via.f64);
    case msgpack::type::STR: return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN:
      return std::string(kBase64Prefix) + base64_encode({o.via.bin.ptr, o.via.bin.size});
    case msgpack::type::EXT:
      return Json{{"ext", o.via.ext.type()},
                  {"data", std::string(kBase64Prefix) + base64_encode({o.via.ext.data(), o.via.ext.size})}};
    case msgpack::type::ARRAY: {
      Json a = Json::array();
      for (uint32_t i = 0; i < o.via.array.size; ++i) a.push_back(msgpack_to_json(o.via.array.ptr[i]));
      return a;
    }
    case msgpack::type::MAP: {
      Json m = Json::object();
      for (uint32_t i = 0; i < o.via.map.size; ++i)
        m[map_key(o.via.map.ptr[i].key)] = msgpack_to_json(o.via.map.ptr[i].val);
      return m;
    }
  }
  return nullptr;
}

std::string to_json(const msgpack::object& o, int indent) { return dump_json(msgpack_to_json(o), indent); }

std::string dump_json(const Json& value, int indent) {
  return value.dump(indent > 0 ? indent : -1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace zfleet::cli
