// MsgpackWriter: appends msgpack to a std::string, with raw splicing of
// values that are already msgpack (corr, task args, task results). Used by
// the codecs in common/ only. Maps and arrays are written with their entry
// count first, so callers count entries before writing them.
//
// Thread safety: one writer per thread (it writes into a caller's string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/msgpack_io.h"

namespace zfleet::common {

class MsgpackWriter {
 public:
  explicit MsgpackWriter(std::string& out) : out_(out), sink_{out}, pk_(sink_) {}
  MsgpackWriter& map(uint32_t n) { pk_.pack_map(n); return *this; }
  MsgpackWriter& array(uint32_t n) { pk_.pack_array(n); return *this; }
  MsgpackWriter& str(std::string_view s) {
    pk_.pack_str(static_cast<uint32_t>(s.size()));
    pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    return *this;
  }
  MsgpackWriter& bin(std::string_view s) {
    pk_.pack_bin(static_cast<uint32_t>(s.size()));
    pk_.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
    return *this;
  }
  // Appends bytes that already are one msgpack value.
  MsgpackWriter& raw(std::string_view msgpack_bytes) { out_.append(msgpack_bytes); return *this; }
  MsgpackWriter& nil() { pk_.pack_nil(); return *this; }
  MsgpackWriter& boolean(bool b) { b ? pk_.pack_true() : pk_.pack_false(); return *this; }
  MsgpackWriter& u64(uint64_t v) { pk_.pack_uint64(v); return *this; }
  MsgpackWriter& i64(int64_t v) { pk_.pack_int64(v); return *this; }
  MsgpackWriter& f64(double v) { append_float64(out_, v); return *this; }
  MsgpackWriter& object(const msgpack::object& o) { append_msgpack(out_, o); return *this; }
  MsgpackWriter& kv(std::string_view k, std::string_view v) { return str(k).str(v); }
  MsgpackWriter& ku(std::string_view k, uint64_t v) { return str(k).u64(v); }

 private:
  std::string& out_;
  StringSink sink_;
  msgpack::packer<StringSink> pk_;
};

}  // namespace zfleet::common
