#include "common/worker_link.h"

#include "common/frames.h"
#include "common/msgpack_io.h"
#include "common/pools.h"
#include "common/msgpack_writer.h"

namespace zfleet::common {
namespace {

zmq::message_t frame(std::string_view s) { return zmq::message_t(s.data(), s.size()); }
zmq::message_t cmd_frame(LinkCmd c) {
  char ch = static_cast<char>(c);
  return zmq::message_t(&ch, 1);
}

// Map entries write_info() writes.
uint32_t info_fields(const WorkerInfo& i) { return i.route.empty() ? 7 : 8; }

void write_info(MsgpackWriter& w, const WorkerInfo& i) {
  w.kv("id", i.id).kv("type", i.pool).kv("host", i.host);
  w.str("pid").i64(i.pid).ku("threads", i.threads).ku("capacity", i.capacity);
  w.ku("incarnation", i.incarnation);
  if (!i.route.empty()) w.kv("route", i.route);
}

std::expected<WorkerInfo, std::string> read_info(const msgpack::object& m) {
  WorkerInfo i;
  auto id = str_field(m, "id");
  auto type = str_field(m, "type");
  auto host = str_field(m, "host");
  auto threads = uint_field(m, "threads");
  auto capacity = uint_field(m, "capacity");
  if (!id || !*id || (*id)->empty()) return std::unexpected("worker info without id");
  // Ids are shown and logged, and routing ids have at most 255 bytes too:
  // a longer one (a forged heartbeat's) names no worker.
  if ((*id)->size() > 255) return std::unexpected("worker id over 255 bytes");
  if (!type || !*type || !valid_pool_name(**type))
    return std::unexpected("worker info without a valid pool name");
  i.id.assign(**id);
  i.pool.assign(**type);
  if (host && *host) i.host.assign(**host);
  // Read by hand: msgpack's convert() throws on a mistyped value, and these
  // bytes come from the network.
  if (const auto* pid = find_field(m, "pid"); pid && pid->type != msgpack::type::NIL) {
    if (pid->type == msgpack::type::NEGATIVE_INTEGER) {
      i.pid = pid->via.i64;
    } else if (pid->type == msgpack::type::POSITIVE_INTEGER && pid->via.u64 <= INT64_MAX) {
      i.pid = static_cast<int64_t>(pid->via.u64);
    } else {
      return std::unexpected("worker info 'pid' must be an integer");
    }
  }
  i.threads = threads && *threads ? static_cast<uint32_t>(**threads) : 0;
  i.capacity = capacity && *capacity ? static_cast<uint32_t>(**capacity) : i.threads;
  auto incarnation = uint_field(m, "incarnation");
  i.incarnation = incarnation && *incarnation ? **incarnation : 0;
  auto route = str_field(m, "route");
  if (route && *route && !(*route)->empty() && (*route)->size() <= 255 && (*route)->front() != '\0')
    i.route.assign(**route);  // a routing id may not start with a zero byte (libzmq's own)
  return i;
}

// CANCEL and WELCOME: a command and one msgpack uint.
Frames encode_command_uint(LinkCmd cmd, uint64_t value) {
  std::string body;
  MsgpackWriter(body).u64(value);
  Frames f;
  f.push_back(cmd_frame(cmd));
  f.push_back(frame(body));
  return f;
}

uint64_t get_u(const msgpack::object& m, std::string_view key) {
  auto v = uint_field(m, key);
  return v && *v ? **v : 0;
}

}  // namespace

std::string result_route(std::string_view route, std::size_t slot) {
  return std::string(route) + kResultRouteMark + std::to_string(slot);
}

std::optional<std::string_view> result_route_owner(std::string_view rid) {
  const auto mark = rid.rfind(kResultRouteMark);
  if (mark == std::string_view::npos || mark == 0 || mark + 1 == rid.size()) return std::nullopt;
  for (char c : rid.substr(mark + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return rid.substr(0, mark);
}

std::optional<LinkCmd> link_command(const zmq::message_t& f) {
  if (f.size() != 1) return std::nullopt;
  switch (static_cast<const char*>(f.data())[0]) {
    case 'R': return LinkCmd::ready;
    case 'D': return LinkCmd::result;
    case 'B': return LinkCmd::bye;
    case 'G': return LinkCmd::gone;
    case 'K': return LinkCmd::gone_ack;
    case 'T': return LinkCmd::task;
    case 'C': return LinkCmd::clear;
    case 'X': return LinkCmd::resync;
    case 'S': return LinkCmd::stop;
    case 'Z': return LinkCmd::cancel;
    case 'F': return LinkCmd::refuse;
    case 'A': return LinkCmd::bye_ack;
    case 'W': return LinkCmd::welcome;
    case 'N': return LinkCmd::returned;
    default: return std::nullopt;
  }
}

Frames encode_ready(const WorkerInfo& info) {
  std::string body;
  MsgpackWriter w(body);
  w.map(info_fields(info));
  write_info(w, info);
  Frames f;
  f.push_back(cmd_frame(LinkCmd::ready));
  f.push_back(frame(body));
  return f;
}

Frames encode_bye() { return encode_simple(LinkCmd::bye); }

Frames encode_simple(LinkCmd cmd) {
  Frames f;
  f.push_back(cmd_frame(cmd));
  return f;
}

Frames encode_task(std::string_view id, uint64_t dispatch, uint32_t attempt,
                   uint64_t timeout_ms, std::string_view payload) {
  std::string meta;
  MsgpackWriter(meta).array(3).u64(dispatch).u64(attempt).u64(timeout_ms);
  Frames f;
  f.reserve(4);
  f.push_back(cmd_frame(LinkCmd::task));
  f.push_back(frame(id));
  f.push_back(frame(meta));
  f.push_back(frame(payload));
  return f;
}

Frames encode_result(const ResultMessage& r) {
  std::string meta, value;
  MsgpackWriter(meta).array(4).u64(r.dispatch).u64(r.attempt).boolean(r.ok).u64(r.run_us);
  if (r.ok) {
    value = r.result.empty() ? std::string("\xc0", 1) : r.result;
  } else {
    MsgpackWriter w(value);
    w.map(4).kv("code", to_string(r.error.code)).kv("message", r.error.message);
    w.kv("type", r.error.type).kv("traceback", r.error.traceback);
  }
  Frames f;
  f.reserve(5);
  f.push_back(cmd_frame(LinkCmd::result));
  f.push_back(frame(r.id));
  f.push_back(frame(meta));
  f.push_back(frame(value));
  if (!r.output.empty()) f.push_back(frame(r.output));
  return f;
}

Frames encode_clear(const std::optional<std::string>& script) {
  std::string body;
  MsgpackWriter w(body);
  script ? (void)w.str(*script) : (void)w.nil();
  Frames f;
  f.push_back(cmd_frame(LinkCmd::clear));
  f.push_back(frame(body));
  return f;
}

Frames encode_cancel(uint64_t dispatch) { return encode_command_uint(LinkCmd::cancel, dispatch); }

Frames encode_return(uint64_t dispatch) { return encode_command_uint(LinkCmd::returned, dispatch); }

Frames encode_welcome(uint64_t token) { return encode_command_uint(LinkCmd::welcome, token); }

Frames encode_refuse(std::string_view reason) {
  Frames f;
  f.push_back(cmd_frame(LinkCmd::refuse));
  f.push_back(frame(reason));
  return f;
}

Frames encode_heartbeat(const Heartbeat& hb) {
  std::string body;
  MsgpackWriter w(body);
  w.map(info_fields(hb.info) + 7);
  write_info(w, hb.info);
  w.ku("seq", hb.seq).ku("active", hb.active).ku("queued", hb.queued);
  w.ku("done", hb.done).ku("failed", hb.failed).ku("rss_bytes", hb.rss_bytes);
  w.ku("token", hb.token);
  Frames f;
  f.push_back(frame("hb"));
  f.push_back(frame(body));
  return f;
}

std::expected<WorkerInfo, std::string> decode_ready(const Frames& f, std::size_t first) {
  if (f.size() != first + 2) return std::unexpected("READY must have 2 frames");
  auto decoded = decode_msgpack(view(f[first + 1]));
  if (!decoded) return std::unexpected(decoded.error());
  return read_info(decoded->get());
}

std::expected<TaskMessage, std::string> decode_task(const Frames& f, std::size_t first) {
  if (f.size() != first + 4) return std::unexpected("TASK must have 4 frames");
  auto decoded = decode_msgpack(view(f[first + 2]));
  if (!decoded) return std::unexpected(decoded.error());
  const msgpack::object& meta = decoded->get();
  if (meta.type != msgpack::type::ARRAY || meta.via.array.size != 3 ||
      meta.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER ||
      meta.via.array.ptr[1].type != msgpack::type::POSITIVE_INTEGER ||
      meta.via.array.ptr[2].type != msgpack::type::POSITIVE_INTEGER)
    return std::unexpected("TASK meta must be [dispatch, attempt, timeout_ms]");
  TaskMessage t;
  t.id = view(f[first + 1]);
  t.dispatch = meta.via.array.ptr[0].via.u64;
  t.attempt = static_cast<uint32_t>(meta.via.array.ptr[1].via.u64);
  t.timeout_ms = meta.via.array.ptr[2].via.u64;
  t.payload = view(f[first + 3]);
  return t;
}

std::expected<ResultMessage, std::string> decode_result(const Frames& f, std::size_t first) {
  if (f.size() != first + 4 && f.size() != first + 5) return std::unexpected("RESULT must have 4 or 5 frames");
  auto decoded = decode_msgpack(view(f[first + 2]));
  if (!decoded) return std::unexpected(decoded.error());
  const msgpack::object& meta = decoded->get();
  if (meta.type != msgpack::type::ARRAY || meta.via.array.size != 4 ||
      meta.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER ||
      meta.via.array.ptr[1].type != msgpack::type::POSITIVE_INTEGER ||
      meta.via.array.ptr[2].type != msgpack::type::BOOLEAN ||
      meta.via.array.ptr[3].type != msgpack::type::POSITIVE_INTEGER)
    return std::unexpected("RESULT meta must be [dispatch, attempt, ok, run_us]");
  ResultMessage r;
  r.id.assign(view(f[first + 1]));
  r.dispatch = meta.via.array.ptr[0].via.u64;
  r.attempt = static_cast<uint32_t>(meta.via.array.ptr[1].via.u64);
  r.ok = meta.via.array.ptr[2].via.boolean;
  r.run_us = meta.via.array.ptr[3].via.u64;
  std::string_view value = view(f[first + 3]);
  if (f.size() == first + 5) r.output.assign(view(f[first + 4]));
  if (r.ok) {
    // The value is spliced into client replies as it is: make sure it is
    // exactly one well-formed msgpack object, whoever the worker is.
    if (auto checked = decode_msgpack(value); !checked)
      return std::unexpected("RESULT value: " + checked.error());
    r.result.assign(value);
    return r;
  }
  auto err = decode_msgpack(value);
  if (!err) return std::unexpected(err.error());
  const msgpack::object& e = err->get();
  auto code = str_field(e, "code");
  if (!code || !*code || !task_error_from_string(**code))
    return std::unexpected("RESULT error without a valid code");
  r.error.code = *task_error_from_string(**code);
  auto msg = str_field(e, "message");
  auto type = str_field(e, "type");
  auto tb = str_field(e, "traceback");
  if (msg && *msg) r.error.message.assign(**msg);
  if (type && *type) r.error.type.assign(**type);
  if (tb && *tb) r.error.traceback.assign(**tb);
  return r;
}

std::expected<std::optional<std::string>, std::string> decode_clear(const Frames& f,
                                                                   std::size_t first) {
  if (f.size() != first + 2) return std::unexpected("CLEAR must have 2 frames");
  auto decoded = decode_msgpack(view(f[first + 1]));
  if (!decoded) return std::unexpected(decoded.error());
  const msgpack::object& o = decoded->get();
  if (o.type == msgpack::type::NIL) return std::optional<std::string>();
  if (o.type != msgpack::type::STR) return std::unexpected("CLEAR script must be str or nil");
  return std::optional<std::string>(std::string(as_view(o)));
}

namespace {

std::expected<uint64_t, std::string> decode_command_uint(const Frames& f, std::size_t first,
                                                         const char* what) {
  if (f.size() != first + 2) return std::unexpected(std::string(what) + " must have 2 frames");
  auto decoded = decode_msgpack(view(f[first + 1]));
  if (!decoded) return std::unexpected(decoded.error());
  const msgpack::object& o = decoded->get();
  if (o.type != msgpack::type::POSITIVE_INTEGER) return std::unexpected(std::string(what) + " value must be a uint");
  return o.via.u64;
}

}  // namespace

std::expected<uint64_t, std::string> decode_cancel(const Frames& f, std::size_t first) {
  return decode_command_uint(f, first, "CANCEL");
}

std::expected<uint64_t, std::string> decode_return(const Frames& f, std::size_t first) {
  return decode_command_uint(f, first, "RETURN");
}

std::expected<uint64_t, std::string> decode_welcome(const Frames& f, std::size_t first) {
  return decode_command_uint(f, first, "WELCOME");
}

std::expected<std::string, std::string> decode_refuse(const Frames& f, std::size_t first) {
  if (f.size() != first + 2) return std::unexpected("REFUSE must have 2 frames");
  return std::string(view(f[first + 1]));
}

std::expected<Heartbeat, std::string> decode_heartbeat(const Frames& f) {
  if (f.size() != 2 || view(f[0]) != "hb") return std::unexpected("heartbeat must be [hb][map]");
  auto decoded = decode_msgpack(view(f[1]));
  if (!decoded) return std::unexpected(decoded.error());
  const msgpack::object& m = decoded->get();
  auto info = read_info(m);
  if (!info) return std::unexpected(info.error());
  Heartbeat hb;
  hb.info = std::move(*info);
  hb.seq = get_u(m, "seq");
  hb.active = static_cast<uint32_t>(get_u(m, "active"));
  hb.queued = static_cast<uint32_t>(get_u(m, "queued"));
  hb.done = get_u(m, "done");
  hb.failed = get_u(m, "failed");
  hb.rss_bytes = get_u(m, "rss_bytes");
  hb.token = get_u(m, "token");
  return hb;
}

}  // namespace zfleet::common
