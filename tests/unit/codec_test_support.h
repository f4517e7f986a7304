// Shared helpers of the codec unit tests (codec_test, codec_input_test).
#pragma once

#include <doctest/doctest.h>
#include <sys/resource.h>

#include <functional>
#include <random>
#include <set>
#include <thread>

#include "common/codec.h"
#include "common/msgpack_writer.h"
#include "common/task_id.h"
#include "tests/unit/msgpack_test_support.h"

namespace codec_testing {

using namespace zfleet::common;

using zfleet::testing::Fill;
using zfleet::testing::mp;

inline std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

inline Request decoded(std::string_view body, const CodecLimits& l = {}) {
  auto r = decode_request(body, l);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
  return std::move(*r);
}

// The request-level error of `body`; its message must be non-empty.
inline WireError refused(std::string_view body, const CodecLimits& l = {}) {
  auto r = decode_request(body, l);
  REQUIRE_FALSE(r.has_value());
  CHECK_FALSE(r.error().message.empty());
  return r.error();
}

inline void bad_request(std::string_view body) { CHECK(refused(body).code == ErrorCode::bad_request); }

// A submit whose only task must be refused with bad_request.
inline void bad_task(std::string_view body) {
  Request r = decoded(body);
  REQUIRE(r.tasks.size() == 1);
  REQUIRE_FALSE(r.tasks[0].has_value());
  CHECK(r.tasks[0].error().code == ErrorCode::bad_request);
  CHECK_FALSE(r.tasks[0].error().message.empty());
}

// {"op": "submit", "script": "t.py", key: <value>}
inline std::string submit_with(std::string_view key, const Fill& value) {
  return mp([&](MsgpackWriter& w) {
    w.map(3).kv("op", "submit").kv("script", "t.py").str(key);
    value(w);
  });
}

inline Reply reply_of(const std::string& body) {  // `body` must outlive the Reply
  auto r = decode_reply(body);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error()));
  return std::move(*r);
}

inline const msgpack::object& at(const msgpack::object& m, std::string_view key) {
  const msgpack::object* f = find_field(m, key);
  REQUIRE_MESSAGE(f != nullptr, "missing key " << key);
  return *f;
}

inline std::string raw(const msgpack::object& o) {
  std::string s;
  append_msgpack(s, o);
  return s;
}

inline std::set<std::string> keys(const msgpack::object& m) {
  std::set<std::string> k;
  REQUIRE(m.type == msgpack::type::MAP);
  for (uint32_t i = 0; i < m.via.map.size; ++i) k.emplace(as_view(m.via.map.ptr[i].key));
  return k;
}

inline bool is_uint(const msgpack::object& o) { return o.type == msgpack::type::POSITIVE_INTEGER; }
inline bool is_int(const msgpack::object& o) {
  return is_uint(o) || o.type == msgpack::type::NEGATIVE_INTEGER;
}
inline bool is_str(const msgpack::object& o, std::string_view v) {
  return o.type == msgpack::type::STR && as_view(o) == v;
}

const std::string kCorr = mp([](MsgpackWriter& w) { w.map(2).kv("a", "b").str("n").array(2).u64(1).nil(); });


}  // namespace codec_testing
