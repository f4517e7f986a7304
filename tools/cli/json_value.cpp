#include "tools/cli/json_value.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/msgpack_writer.h"

namespace zfleet::cli {
namespace {

using common::MsgpackWriter;

bool write_plain_scalar(MsgpackWriter& w, const std::string& s) {
  if (s == "null" || s == "~" || s.empty()) return w.nil(), true;
  if (s == "true") return w.boolean(true), true;
  if (s == "false") return w.boolean(false), true;
  char* end = nullptr;
  errno = 0;
  if (s[0] == '-') {
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0) return w.i64(v), true;
  } else {
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0) return w.u64(v), true;
  }
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (*end == '\0' && errno == 0 && std::isfinite(d)) {
    w.f64(d);
    return true;
  }
  return false;
}

std::expected<void, std::string> write_node(MsgpackWriter& w, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      w.nil();
      return {};
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!" || !write_plain_scalar(w, n.Scalar())) w.str(n.Scalar());
      return {};
    case YAML::NodeType::Sequence:
      w.array(static_cast<uint32_t>(n.size()));
      for (const auto& item : n) {
        if (auto r = write_node(w, item); !r) return r;
      }
      return {};
    case YAML::NodeType::Map:
      w.map(static_cast<uint32_t>(n.size()));
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return std::unexpected("object keys must be strings");
        w.str(kv.first.Scalar());
        if (auto r = write_node(w, kv.second); !r) return r;
      }
      return {};
    default:
      return std::unexpected("unsupported value");
  }
}

void escape(std::ostringstream& out, std::string_view s) {
  out << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\t': out << "\\t"; break;
      case '\r': out << "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out << buf;
        } else {
          out << c;
        }
    }
  }
  out << '"';
}

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += t[(v >> k) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += (i + 1 < in.size()) ? t[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void render(std::ostringstream& out, const msgpack::object& o, int indent, int depth) {
  auto newline = [&](int d) {
    if (indent > 0) out << '\n' << std::string(std::size_t(indent * d), ' ');
  };
  switch (o.type) {
    case msgpack::type::NIL: out << "null"; break;
    case msgpack::type::BOOLEAN: out << (o.via.boolean ? "true" : "false"); break;
    case msgpack::type::POSITIVE_INTEGER: out << o.via.u64; break;
    case msgpack::type::NEGATIVE_INTEGER: out << o.via.i64; break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", o.via.f64);
      out << buf;
      break;
    }
    case msgpack::type::STR: escape(out, {o.via.str.ptr, o.via.str.size}); break;
    case msgpack::type::BIN: escape(out, "base64:" + base64({o.via.bin.ptr, o.via.bin.size})); break;
    case msgpack::type::ARRAY:
      out << '[';
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        if (i) out << ',';
        newline(depth + 1);
        render(out, o.via.array.ptr[i], indent, depth + 1);
      }
      if (o.via.array.size) newline(depth);
      out << ']';
      break;
    case msgpack::type::MAP:
      out << '{';
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        if (i) out << ',';
        newline(depth + 1);
        const auto& k = o.via.map.ptr[i].key;
        if (k.type == msgpack::type::STR) {
          escape(out, {k.via.str.ptr, k.via.str.size});
        } else {
          escape(out, to_json(k));
        }
        out << (indent > 0 ? ": " : ":");
        render(out, o.via.map.ptr[i].val, indent, depth + 1);
      }
      if (o.via.map.size) newline(depth);
      out << '}';
      break;
    default: out << "null"; break;
  }
}

}  // namespace

std::expected<std::string, std::string> json_to_msgpack(std::string_view json) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(json));
  } catch (const YAML::Exception& e) {
    return std::unexpected("not valid JSON: " + e.msg);
  }
  std::string out;
  MsgpackWriter w(out);
  if (auto r = write_node(w, node); !r) return std::unexpected(r.error());
  return out;
}

std::string to_json(const msgpack::object& o, int indent) {
  std::ostringstream out;
  render(out, o, indent, 0);
  return out.str();
}

}  // namespace zfleet::cli
