// Client side of the codec: requests -> bytes, reply bytes -> Reply. Used by
// the zfleet CLI, zfleet-bench and the C++ tests.
#include "common/codec.h"
#include "common/msgpack_writer.h"

namespace zfleet::common {
namespace {

std::string get_str(const msgpack::object& m, std::string_view key) {
  auto v = str_field(m, key);
  return (v && *v) ? std::string(**v) : std::string();
}

// Writes the map header and "op" entry of a request with `fields` more entries.
MsgpackWriter& start(MsgpackWriter& w, std::string_view op, uint32_t fields,
                     std::string_view corr) {
  w.map(fields + 1 + (corr.empty() ? 0 : 1)).kv("op", op);
  if (!corr.empty()) w.str("corr").raw(corr);
  return w;
}

}  // namespace

uint32_t submit_field_count(const SubmitArgs& a) {
  return 1 + !a.func.empty() + !a.args_msgpack.empty() + !a.kwargs_msgpack.empty() +
         !a.type.empty() + !a.id.empty() + (a.timeout_ms != 0) + a.max_retries.has_value() +
         (a.delay_ms != 0) + a.retries.has_value() + !a.retry_on.empty() +
         a.retry_backoff_ms.has_value() + a.output;
}

void append_submit_fields(std::string& out, const SubmitArgs& a) {
  MsgpackWriter w(out);
  w.kv("script", a.script);
  if (!a.func.empty()) w.kv("func", a.func);
  if (!a.args_msgpack.empty()) w.str("args").raw(a.args_msgpack);
  if (!a.kwargs_msgpack.empty()) w.str("kwargs").raw(a.kwargs_msgpack);
  if (!a.type.empty()) w.kv("type", a.type);
  if (!a.id.empty()) w.kv("id", a.id);
  if (a.timeout_ms) w.ku("timeout_ms", a.timeout_ms);
  if (a.max_retries) w.ku("max_retries", *a.max_retries);
  if (a.delay_ms) w.ku("delay_ms", a.delay_ms);
  if (a.retries) w.ku("retries", *a.retries);
  if (!a.retry_on.empty()) {
    w.str("retry_on").array(static_cast<uint32_t>(a.retry_on.size()));
    for (const auto& code : a.retry_on) w.str(code);
  }
  if (a.retry_backoff_ms) w.ku("retry_backoff_ms", *a.retry_backoff_ms);
  if (a.output) w.str("output").boolean(true);
}

std::string encode_submit(const SubmitArgs& a, std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "submit", submit_field_count(a), corr);
  append_submit_fields(out, a);
  return out;
}

std::string encode_submit_batch(const std::vector<SubmitArgs>& tasks, std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "submit_batch", 1, corr).str("tasks").array(static_cast<uint32_t>(tasks.size()));
  for (const auto& t : tasks) {
    w.map(submit_field_count(t));
    append_submit_fields(out, t);
  }
  return out;
}

std::string encode_get(std::string_view id, uint64_t wait_ms, std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "get", wait_ms ? 2 : 1, corr).kv("id", id);
  if (wait_ms) w.ku("wait_ms", wait_ms);
  return out;
}

std::string encode_get_many(const std::vector<std::string>& ids, uint64_t wait_ms,
                            std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "get_many", wait_ms ? 2 : 1, corr).str("ids").array(static_cast<uint32_t>(ids.size()));
  for (const auto& id : ids) w.str(id);
  if (wait_ms) w.ku("wait_ms", wait_ms);
  return out;
}

std::string encode_status_request(std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "status", 0, corr);
  return out;
}

std::string encode_clear_cache(const std::optional<std::string>& script, std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "clear_cache", script ? 1 : 0, corr);
  if (script) w.kv("script", *script);
  return out;
}

std::string encode_cancel(std::string_view id, std::string_view corr) {
  std::string out;
  MsgpackWriter w(out);
  start(w, "cancel", 1, corr).kv("id", id);
  return out;
}

std::expected<Reply, std::string> decode_reply(std::string_view body) {
  auto decoded = decode_msgpack(body);
  if (!decoded) return std::unexpected(decoded.error());
  Reply r;
  r.handle = std::move(*decoded);
  const msgpack::object& m = r.handle.get();
  if (m.type != msgpack::type::MAP) return std::unexpected("reply is not a map");
  r.op = get_str(m, "op");
  if (r.op.empty()) return std::unexpected("reply has no 'op'");
  r.id = get_str(m, "id");
  r.state = get_str(m, "state");
  r.code = get_str(m, "code");
  r.message = get_str(m, "message");
  r.outcome = get_str(m, "outcome");
  if (const auto* corr = find_field(m, "corr")) append_msgpack(r.corr, *corr);
  return r;
}

std::expected<std::vector<BatchEntry>, std::string> decode_accepted_batch(const Reply& r) {
  if (r.op != "accepted_batch") return std::unexpected("not an accepted_batch reply: " + r.op);
  const auto* ids = find_field(r.root(), "ids");
  const auto* errors = find_field(r.root(), "errors");
  if (!ids || !errors || ids->type != msgpack::type::ARRAY || errors->type != msgpack::type::ARRAY ||
      ids->via.array.size != errors->via.array.size)
    return std::unexpected("accepted_batch reply without matching 'ids' and 'errors' lists");
  std::vector<BatchEntry> out(ids->via.array.size);
  for (uint32_t i = 0; i < ids->via.array.size; ++i) {
    const auto& id = ids->via.array.ptr[i];
    const auto& err = errors->via.array.ptr[i];
    if (id.type == msgpack::type::STR) {
      out[i].id = std::string(as_view(id));
    } else if (err.type == msgpack::type::MAP) {
      out[i].code = get_str(err, "code");
      out[i].message = get_str(err, "message");
    } else {
      return std::unexpected("accepted_batch entry " + std::to_string(i) + " has neither id nor error");
    }
  }
  return out;
}

}  // namespace zfleet::common
