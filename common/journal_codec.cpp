#include "common/journal_codec.h"

#include <algorithm>

#include "common/msgpack_io.h"
#include "common/msgpack_writer.h"

namespace zfleet::common {
namespace {

// Reads the fields of one decoded record array in order, remembering the
// first problem instead of throwing (the bytes come from a file that a
// crash or a disk may have damaged).
class Fields {
 public:
  // `want` fields, or up to `most` when later versions appended some.
  Fields(const msgpack::object& o, uint32_t want, uint32_t most = 0) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size < want ||
        o.via.array.size > std::max(want, most)) {
      bad_ = true;
      return;
    }
    items_ = o.via.array.ptr;
    size_ = o.via.array.size;
  }
  bool ok() const { return !bad_; }
  bool more() const { return !bad_ && i_ < size_; }
  bool next_is_str() const { return more() && items_[i_].type == msgpack::type::STR; }
  uint64_t u() {
    const msgpack::object* o = next();
    if (!o || o->type != msgpack::type::POSITIVE_INTEGER) return fail(), 0;
    return o->via.u64;
  }
  std::string_view s() {
    const msgpack::object* o = next();
    if (!o || o->type != msgpack::type::STR) return fail(), std::string_view();
    return {o->via.str.ptr, o->via.str.size};
  }
  std::string_view b() {
    const msgpack::object* o = next();
    if (!o || o->type != msgpack::type::BIN) return fail(), std::string_view();
    return {o->via.bin.ptr, o->via.bin.size};
  }

 private:
  const msgpack::object* next() { return bad_ ? nullptr : &items_[i_++]; }
  void fail() { bad_ = true; }
  const msgpack::object* items_ = nullptr;
  uint32_t size_ = 0;
  uint32_t i_ = 0;
  bool bad_ = false;
};

template <class R, class Read>
std::expected<R, std::string> decode(std::string_view payload, uint32_t fields, const char* what,
                                     Read read, uint32_t most = 0) {
  auto decoded = decode_msgpack(payload);
  if (!decoded) return std::unexpected(std::string(what) + ": " + decoded.error());
  Fields f(decoded->get(), fields, most);
  R r;
  if (f.ok()) read(f, r);
  if (!f.ok()) return std::unexpected(std::string(what) + " record has the wrong shape");
  return r;
}

}  // namespace

std::string encode_journal(const AcceptRecord& r) {
  std::string out;
  out.reserve(64 + r.id.size() + r.payload.size());
  MsgpackWriter w(out);
  w.array(10).str(r.id).str(r.pool).bin(r.payload).u64(r.timeout_ms);
  w.u64(r.max_retries).u64(r.retries).u64(r.retry_on).u64(r.retry_backoff_ms);
  w.u64(r.accepted_wall_ms).u64(r.run_after_wall_ms);
  return out;
}

std::string encode_journal(const DispatchRecord& r) {
  std::string out;
  MsgpackWriter(out).array(5).str(r.id).u64(r.dispatch).u64(r.attempts).u64(r.losses).u64(r.retries_used);
  return out;
}

std::string encode_journal(const RetryRecord& r) {
  std::string out;
  MsgpackWriter w(out);
  w.array(5).str(r.id).u64(r.attempts).u64(r.retries_used).u64(r.run_after_wall_ms).u64(r.losses);
  return out;
}

std::string encode_journal(const FinishRecord& f) {
  const ResultRecord& r = f.rec;
  std::string out;
  out.reserve(64 + r.id.size() + r.result.size() + r.error.message.size() + r.error.traceback.size());
  MsgpackWriter w(out);
  w.array(r.output.empty() ? 12 : 13).str(r.id).u64(static_cast<uint64_t>(r.state)).bin(r.result);
  w.u64(static_cast<uint64_t>(r.error.code)).str(r.error.message).str(r.error.type);
  w.str(r.error.traceback).str(r.worker).u64(r.attempts).u64(r.queued_us).u64(r.run_us);
  w.u64(f.finished_wall_ms);
  if (!r.output.empty()) w.str(r.output);
  return out;
}

std::expected<AcceptRecord, std::string> decode_accept(std::string_view payload) {
  auto r = decode<AcceptRecord>(payload, 10, "ACCEPT", [](Fields& f, AcceptRecord& r) {
    r.id = f.s();
    // The pool's name; journals of 0.1 hold 0 (io) or 1 (cpu) instead.
    if (f.next_is_str()) {
      r.pool = f.s();
    } else {
      uint64_t type = f.u();
      r.pool = type == 1 ? "cpu" : "io";
      if (type > 1) r.id.clear();  // refused below
    }
    r.payload = f.b();
    r.timeout_ms = static_cast<uint32_t>(f.u());
    r.max_retries = static_cast<uint8_t>(f.u());
    r.retries = static_cast<uint8_t>(f.u());
    r.retry_on = static_cast<TaskErrorSet>(f.u());
    r.retry_backoff_ms = static_cast<uint32_t>(f.u());
    r.accepted_wall_ms = f.u();
    r.run_after_wall_ms = f.u();
  });
  if (r && r->id.empty()) return std::unexpected("ACCEPT record without an id or with a bad pool");
  return r;
}

std::expected<DispatchRecord, std::string> decode_dispatch(std::string_view payload) {
  return decode<DispatchRecord>(payload, 5, "DISPATCH", [](Fields& f, DispatchRecord& r) {
    r.id = f.s();
    r.dispatch = f.u();
    r.attempts = static_cast<uint16_t>(f.u());
    r.losses = static_cast<uint8_t>(f.u());
    r.retries_used = static_cast<uint8_t>(f.u());
  });
}

std::expected<RetryRecord, std::string> decode_retry(std::string_view payload) {
  return decode<RetryRecord>(payload, 5, "RETRY", [](Fields& f, RetryRecord& r) {
    r.id = f.s();
    r.attempts = static_cast<uint16_t>(f.u());
    r.retries_used = static_cast<uint8_t>(f.u());
    r.run_after_wall_ms = f.u();
    r.losses = static_cast<uint8_t>(f.u());
  });
}

std::expected<FinishRecord, std::string> decode_finish(std::string_view payload) {
  auto r = decode<FinishRecord>(payload, 12, "FINISH", [](Fields& f, FinishRecord& out) {
    ResultRecord& r = out.rec;
    r.id = f.s();
    uint64_t state = f.u();
    r.result = f.b();
    uint64_t code = f.u();
    r.error.message = f.s();
    r.error.type = f.s();
    r.error.traceback = f.s();
    r.worker = f.s();
    r.attempts = static_cast<uint32_t>(f.u());
    r.queued_us = f.u();
    r.run_us = f.u();
    out.finished_wall_ms = f.u();
    if (f.more()) r.output = f.s();  // 13th field: the task's output, when kept
    bool final_state = state == static_cast<uint64_t>(TaskState::done) ||
                       state == static_cast<uint64_t>(TaskState::failed);
    if (!final_state || code > static_cast<uint64_t>(TaskErrorCode::cancelled)) r.id.clear();
    r.state = static_cast<TaskState>(final_state ? state : 2);
    r.error.code = static_cast<TaskErrorCode>(
        code <= static_cast<uint64_t>(TaskErrorCode::cancelled) ? code : 0);
  }, 13);
  if (r && r->rec.id.empty()) return std::unexpected("FINISH record without an id or with a bad state");
  return r;
}

}  // namespace zfleet::common
