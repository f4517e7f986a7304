// JsonObject: builds the one JSON object a scenario prints with --json, key
// by key in insertion order (so the output reads like the table). Small on
// purpose: the bench only emits numbers, strings, booleans, nested objects
// and arrays of objects, and no JSON library is among the project's
// dependencies.
//
// Thread safety: a value type; one builder per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace zfleet::bench {

class JsonObject {
 public:
  JsonObject& add(std::string_view key, std::string_view v) {
    key_(key);
    quote(v);
    return *this;
  }
  JsonObject& add(std::string_view key, const char* v) { return add(key, std::string_view(v)); }
  JsonObject& add(std::string_view key, bool v) {
    key_(key);
    body_ += v ? "true" : "false";
    return *this;
  }
  JsonObject& add(std::string_view key, uint64_t v) {
    key_(key);
    body_ += std::to_string(v);
    return *this;
  }
  JsonObject& add(std::string_view key, int v) { return add(key, static_cast<uint64_t>(v)); }
  // A float with `decimals` digits after the point; NaN and infinities as null.
  JsonObject& add(std::string_view key, double v, int decimals) {
    key_(key);
    if (!std::isfinite(v)) {
      body_ += "null";
      return *this;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    body_ += buf;
    return *this;
  }
  JsonObject& add(std::string_view key, const JsonObject& v) {
    key_(key);
    body_ += v.str();
    return *this;
  }
  JsonObject& add(std::string_view key, const std::vector<JsonObject>& v) {
    key_(key);
    body_ += '[';
    for (std::size_t i = 0; i < v.size(); ++i) body_ += (i ? ", " : "") + v[i].str();
    body_ += ']';
    return *this;
  }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key_(std::string_view k) {
    if (!body_.empty()) body_ += ", ";
    quote(k);
    body_ += ": ";
  }
  void quote(std::string_view s) {
    body_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        body_ += '\\';
        body_ += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        body_ += buf;
      } else {
        body_ += static_cast<char>(c);
      }
    }
    body_ += '"';
  }
  std::string body_;
};

}  // namespace zfleet::bench
