// Request decoding: bytes from a producer or client -> typed Request.
#include <array>

#include "common/codec.h"
#include "common/msgpack_writer.h"
#include "common/task_id.h"

namespace zfleet::common {
namespace {

constexpr std::array<std::string_view, 7> kOpNames = {"submit", "submit_batch", "get", "get_many",
                                                      "status", "clear_cache", "cancel"};
constexpr uint32_t kMaxRetriesCap = 100;
constexpr std::size_t kMaxFuncBytes = 256;
constexpr uint64_t kMaxBackoffMs = 1'000'000'000'000ULL;  // as config durations: no overflow

WireError bad(std::string msg) { return {ErrorCode::bad_request, std::move(msg)}; }

std::optional<WireError> decode_retry_on(const msgpack::object& m, TaskSpec& t) {
  const auto* on = find_field(m, "retry_on");
  if (!on || on->type == msgpack::type::NIL) return std::nullopt;
  if (on->type != msgpack::type::ARRAY) return bad("field 'retry_on' must be an array of task error codes");
  t.retry_on = 0;
  for (uint32_t i = 0; i < on->via.array.size; ++i) {
    const auto& o = on->via.array.ptr[i];
    auto code = o.type == msgpack::type::STR ? task_error_from_string(as_view(o)) : std::nullopt;
    if (!code) return bad("field 'retry_on' must list task error codes (exception, timeout, ...)");
    if (error_bit(*code) & kNeverRetried)
      return bad("field 'retry_on' cannot hold '" + std::string(to_string(*code)) +
                 "': cancelled is final and worker_lost is governed by max_retries");
    t.retry_on |= error_bit(*code);
  }
  return std::nullopt;
}

// delay_ms, retries, retry_on, retry_backoff_ms (PROTOCOL.md "submit").
std::optional<WireError> decode_scheduling(const msgpack::object& m, TaskSpec& t,
                                           const CodecLimits& limits) {
  auto delay = uint_field(m, "delay_ms");
  if (!delay) return bad(delay.error().message);
  t.delay_ms = delay->value_or(0);
  if (t.delay_ms > limits.max_delay_ms)
    return bad("field 'delay_ms' is over broker.max_delay_ms (" + std::to_string(limits.max_delay_ms) + ")");
  auto retries = uint_field(m, "retries");
  if (!retries) return bad(retries.error().message);
  if (retries->value_or(0) > kMaxRetriesCap) return bad("field 'retries' must be <= 100");
  t.retries = static_cast<uint32_t>(retries->value_or(0));
  auto backoff = uint_field(m, "retry_backoff_ms");
  if (!backoff) return bad(backoff.error().message);
  if (backoff->value_or(0) > kMaxBackoffMs) return bad("field 'retry_backoff_ms' is too large");
  t.retry_backoff_ms = backoff->value_or(t.retry_backoff_ms);
  return decode_retry_on(m, t);
}

std::expected<TaskSpec, WireError> decode_task(const msgpack::object& m, const CodecLimits& limits) {
  if (m.type != msgpack::type::MAP) return std::unexpected(bad("a task must be a map"));
  TaskSpec t;
  auto script = str_field(m, "script");
  if (!script) return std::unexpected(bad(script.error().message));
  if (!*script) return std::unexpected(bad("field 'script' is required"));
  if (auto why = check_script_shape(**script)) return std::unexpected(bad(*why));

  auto func = str_field(m, "func");
  if (!func) return std::unexpected(bad(func.error().message));
  std::string_view func_name = func->value_or("main");
  if (func_name.empty() || func_name.size() > kMaxFuncBytes ||
      func_name.find('\0') != std::string_view::npos || !valid_utf8(func_name))
    return std::unexpected(bad("field 'func' must be 1..256 bytes of UTF-8 with no NUL"));

  std::string args, kwargs;
  if (const auto* a = find_field(m, "args"); a && a->type != msgpack::type::NIL) {
    if (a->type != msgpack::type::ARRAY) return std::unexpected(bad("field 'args' must be an array"));
    append_msgpack(args, *a);
  }
  if (const auto* k = find_field(m, "kwargs"); k && k->type != msgpack::type::NIL) {
    if (k->type != msgpack::type::MAP) return std::unexpected(bad("field 'kwargs' must be a map"));
    for (uint32_t i = 0; i < k->via.map.size; ++i) {
      if (k->via.map.ptr[i].key.type != msgpack::type::STR)
        return std::unexpected(bad("keys of 'kwargs' must be strings"));
    }
    append_msgpack(kwargs, *k);
  }

  auto type = str_field(m, "type");
  if (!type) return std::unexpected(bad(type.error().message));
  if (*type) {
    static const PoolNames kDefaultPools;
    const PoolNames& pools = limits.pools ? *limits.pools : kDefaultPools;
    auto pool = pools.find(**type);
    if (!pool) {
      std::string name = valid_pool_name(**type) ? "'" + std::string(**type) + "'" : "given";
      return std::unexpected(bad("no pool named " + name + " (field 'type'; pools: " + pools.list() + ")"));
    }
    t.pool = *pool;
  }
  auto output = bool_field(m, "output");
  if (!output) return std::unexpected(bad(output.error().message));
  auto id = str_field(m, "id");
  if (!id) return std::unexpected(bad(id.error().message));
  if (*id) {
    if (!valid_task_id(**id))
      return std::unexpected(bad("field 'id' must be 1..128 bytes of UTF-8 with no NUL"));
    if ((**id)[0] == kGeneratedIdPrefix)
      return std::unexpected(bad("field 'id' must not start with '~': those ids are made by the broker"));
    t.id.assign(**id);
  }
  auto timeout = uint_field(m, "timeout_ms");
  if (!timeout) return std::unexpected(bad(timeout.error().message));
  t.timeout_ms = timeout->value_or(0);
  auto retries = uint_field(m, "max_retries");
  if (!retries) return std::unexpected(bad(retries.error().message));
  if (*retries) {
    if (**retries > kMaxRetriesCap) return std::unexpected(bad("field 'max_retries' must be <= 100"));
    t.max_retries = static_cast<uint32_t>(**retries);
  }
  if (auto e = decode_scheduling(m, t, limits)) return std::unexpected(std::move(*e));
  t.payload = encode_task_payload(**script, func_name, args, kwargs, output->value_or(false));
  return t;
}

std::optional<WireError> decode_ids(const msgpack::object& m, Request& r, std::size_t max) {
  if (r.op == Op::get || r.op == Op::cancel) {
    auto id = str_field(m, "id");
    if (!id) return bad(id.error().message);
    if (!*id) return bad("field 'id' is required");
    if (!valid_utf8(**id)) return bad("field 'id' is not valid UTF-8");
    r.ids.emplace_back(**id);
    return std::nullopt;
  }
  const auto* ids = find_field(m, "ids");
  if (!ids || ids->type != msgpack::type::ARRAY) return bad("field 'ids' must be an array");
  if (ids->via.array.size > max)
    return WireError{ErrorCode::too_large, "more than " + std::to_string(max) + " ids"};
  for (uint32_t i = 0; i < ids->via.array.size; ++i) {
    const auto& o = ids->via.array.ptr[i];
    if (o.type != msgpack::type::STR) return bad("every entry of 'ids' must be a string");
    if (!valid_utf8(as_view(o))) return bad("an entry of 'ids' is not valid UTF-8");
    r.ids.emplace_back(as_view(o));
  }
  return std::nullopt;
}

std::optional<WireError> decode_body(const msgpack::object& m, Request& r,
                                     const CodecLimits& limits) {
  switch (r.op) {
    case Op::submit:
      r.tasks.push_back(decode_task(m, limits));
      return std::nullopt;
    case Op::submit_batch: {
      const auto* tasks = find_field(m, "tasks");
      if (!tasks || tasks->type != msgpack::type::ARRAY)
        return bad("field 'tasks' must be an array");
      if (tasks->via.array.size > limits.max_batch)
        return WireError{ErrorCode::too_large,
                         "batch of " + std::to_string(tasks->via.array.size) +
                             " tasks is over max_batch " + std::to_string(limits.max_batch)};
      r.tasks.reserve(tasks->via.array.size);
      for (uint32_t i = 0; i < tasks->via.array.size; ++i)
        r.tasks.push_back(decode_task(tasks->via.array.ptr[i], limits));
      return std::nullopt;
    }
    case Op::get:
    case Op::get_many: {
      if (auto e = decode_ids(m, r, limits.max_batch)) return e;
      auto wait = uint_field(m, "wait_ms");
      if (!wait) return bad(wait.error().message);
      r.wait_ms = wait->value_or(0);
      return std::nullopt;
    }
    case Op::status:
      return std::nullopt;
    case Op::cancel:
      return decode_ids(m, r, 1);
    case Op::clear_cache: {
      auto script = str_field(m, "script");
      if (!script) return bad(script.error().message);
      if (*script && !valid_utf8(**script)) return bad("field 'script' is not valid UTF-8");
      if (*script) r.script.emplace(**script);
      return std::nullopt;
    }
  }
  return bad("unknown op");
}

}  // namespace

std::string_view to_string(Op op) { return kOpNames.at(static_cast<std::size_t>(op)); }

std::optional<std::string> check_script_shape(std::string_view s) {
  if (s.empty()) return "field 'script' must not be empty";
  if (s.size() > 1024) return "field 'script' is longer than 1024 bytes";
  if (s.find('\0') != std::string_view::npos) return "field 'script' contains NUL";
  if (!valid_utf8(s)) return "field 'script' is not valid UTF-8";
  if (s.starts_with(kBuiltinPrefix)) {
    if (s.size() == kBuiltinPrefix.size()) return "builtin script needs a name";
    return std::nullopt;
  }
  if (s.front() == '/')
    return "field 'script' must be a path relative to a script root, not an absolute path: add its "
           "folder to python.script_roots (or workers.<pool>.script_roots) and send the path under it";
  if (!s.ends_with(".py")) return "field 'script' must end in .py";
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    if (s.substr(start, end - start) == "..") return "field 'script' must not contain '..'";
    start = end + 1;
  }
  return std::nullopt;
}

std::string recover_corr(std::string_view body) {
  auto decoded = decode_msgpack(body);
  if (!decoded) return {};
  const auto* corr = find_field(decoded->get(), "corr");
  if (!corr) return {};
  std::string out;
  append_msgpack(out, *corr);
  return out;
}

std::expected<Request, WireError> decode_request(std::string_view body, const CodecLimits& limits) {
  auto decoded = decode_msgpack(body, limits.msgpack);
  if (!decoded) return std::unexpected(bad(decoded.error()));
  const msgpack::object& m = decoded->get();
  if (m.type != msgpack::type::MAP) return std::unexpected(bad("the body must be a msgpack map"));
  Request r;
  if (const auto* corr = find_field(m, "corr")) append_msgpack(r.corr, *corr);
  auto op = str_field(m, "op");
  if (!op) return std::unexpected(bad(op.error().message));
  if (!*op) return std::unexpected(bad("field 'op' is required"));
  std::size_t i = 0;
  while (i < kOpNames.size() && kOpNames[i] != **op) ++i;
  if (i == kOpNames.size()) {
    // Quote the client's op only when it is printable UTF-8: replies must
    // stay valid msgpack str for every client.
    bool quotable = valid_utf8(**op) && (*op)->size() <= 64;
    return std::unexpected(
        bad(quotable ? "unknown op '" + std::string(**op) + "'" : std::string("unknown op")));
  }
  r.op = static_cast<Op>(i);
  if (auto err = decode_body(m, r, limits)) return std::unexpected(std::move(*err));
  return r;
}

std::string encode_task_payload(std::string_view script, std::string_view func,
                                std::string_view args_msgpack, std::string_view kwargs_msgpack,
                                bool output) {
  std::string out;
  out.reserve(16 + script.size() + func.size() + args_msgpack.size() + kwargs_msgpack.size());
  MsgpackWriter w(out);
  w.array(output ? 5 : 4).str(script).str(func).bin(args_msgpack).bin(kwargs_msgpack);
  if (output) w.boolean(true);
  return out;
}

std::expected<TaskPayloadView, std::string> decode_task_payload(std::string_view payload,
                                                               msgpack::object_handle& keep) {
  auto decoded = decode_msgpack(payload);
  if (!decoded) return std::unexpected(decoded.error());
  keep = std::move(*decoded);
  const msgpack::object& a = keep.get();
  if (a.type != msgpack::type::ARRAY || (a.via.array.size != 4 && a.via.array.size != 5))
    return std::unexpected("task payload must be an array of 4 or 5");
  const msgpack::object* f = a.via.array.ptr;
  if (f[0].type != msgpack::type::STR || f[1].type != msgpack::type::STR ||
      f[2].type != msgpack::type::BIN || f[3].type != msgpack::type::BIN ||
      (a.via.array.size == 5 && f[4].type != msgpack::type::BOOLEAN))
    return std::unexpected("task payload has mistyped fields");
  return TaskPayloadView{as_view(f[0]), as_view(f[1]),
                         std::string_view(f[2].via.bin.ptr, f[2].via.bin.size),
                         std::string_view(f[3].via.bin.ptr, f[3].via.bin.size),
                         a.via.array.size == 5 && f[4].via.boolean};
}

}  // namespace zfleet::common
