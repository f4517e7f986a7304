#include "benchmarks/bench/load_client.h"

#include <stdexcept>

#include "benchmarks/bench/progress.h"
#include "common/frames.h"
#include "common/msgpack_writer.h"
#include "common/sockets.h"

namespace zfleet::bench {
namespace {

std::string one_int_arg(uint64_t v) {
  std::string out;
  common::MsgpackWriter(out).array(1).u64(v);
  return out;
}

uint64_t suffix_number(const std::string& name, uint64_t fallback) {
  auto colon = name.find(':');
  return colon == std::string::npos ? fallback : std::stoull(name.substr(colon + 1));
}

uint64_t get_u(const msgpack::object& m, std::string_view key) {
  auto v = common::uint_field(m, key);
  return v && *v ? **v : 0;
}

}  // namespace

TaskKind task_kind(const std::string& name, const std::string& type) {
  std::string base = name.substr(0, name.find(':'));
  TaskKind k;
  k.type = type;
  if (base == "echo") {
    k.script = "builtin:echo";
    k.args_msgpack = one_int_arg(1);
  } else if (base == "sleep" || base == "spin") {
    k.script = "builtin:" + base;
    k.args_msgpack = one_int_arg(suffix_number(name, base == "sleep" ? 10 : 100));
  } else if (base == "py-noop") {
    k.script = "math_ops.py";
    k.func = "noop";
  } else if (base == "py-sleep") {
    k.script = "sleepy.py";
    k.args_msgpack = one_int_arg(suffix_number(name, 10));
  } else if (base == "py-cpu") {
    k.script = "math_ops.py";
    k.func = "burn";
    k.args_msgpack = one_int_arg(suffix_number(name, 20000));
  } else {
    throw std::invalid_argument("unknown task kind '" + name + "'");
  }
  return k;
}

LoadClient::LoadClient(zmq::context_t& ctx, const std::string& frontend, const std::string& results,
                       const common::CurveOptions& curve) {
  auto o = common::unbounded_options();
  o.curve = curve;
  front_ = common::make_socket(ctx, zmq::socket_type::dealer, o);
  front_.connect(frontend);
  results_ = common::make_socket(ctx, zmq::socket_type::dealer, o);
  results_.connect(results);
}

zmq::message_t LoadClient::recv(zmq::socket_t& s, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  zmq::message_t m;
  if (item.revents & ZMQ_POLLIN) (void)s.recv(m);
  return m;
}

std::vector<std::string> LoadClient::submit(const TaskKind& kind, std::size_t count,
                                            std::size_t batch, std::size_t window, Outcome& out) {
  common::SubmitArgs a;
  a.script = kind.script;
  a.func = kind.func;
  a.args_msgpack = kind.args_msgpack;
  a.type = kind.type;
  std::vector<common::SubmitArgs> many(std::max<std::size_t>(batch, 1), a);
  std::vector<std::string> ids;
  ids.reserve(count);
  std::size_t sent = 0, outstanding = 0;
  while (sent < count || outstanding > 0) {
    while (sent < count && outstanding < window) {
      std::size_t n = std::min(batch, count - sent);
      std::string body = batch <= 1 ? common::encode_submit(a, {})
                                    : common::encode_submit_batch({many.begin(), many.begin() + n}, {});
      front_.send(zmq::buffer(body), zmq::send_flags::none);
      sent += std::max<std::size_t>(n, 1);
      ++outstanding;
    }
    zmq::message_t m = recv(front_, std::chrono::seconds(30));
    if (m.size() == 0) throw std::runtime_error("no acknowledgement from the broker in 30 s");
    --outstanding;
    auto r = common::decode_reply(common::view(m));
    if (!r) continue;
    if (r->op == "accepted") {
      ids.push_back(r->id);
      ++out.accepted;
    } else if (r->op == "accepted_batch") {
      const auto* arr = common::find_field(r->root(), "ids");
      for (uint32_t i = 0; arr && i < arr->via.array.size; ++i) {
        const auto& id = arr->via.array.ptr[i];
        if (id.type == msgpack::type::STR) {
          ids.emplace_back(common::as_view(id));
          ++out.accepted;
        } else {
          ++out.rejected;
        }
      }
    } else {
      ++out.rejected;
    }
    if (progress_) progress_->update(out.accepted + out.rejected, "acked");
  }
  return ids;
}

void LoadClient::collect(const std::vector<std::string>& ids, std::chrono::milliseconds timeout,
                         Outcome& out) {
  constexpr std::size_t kChunk = 1000;
  std::size_t requests = 0;
  for (std::size_t i = 0; i < ids.size(); i += kChunk) {
    std::vector<std::string> chunk(ids.begin() + i, ids.begin() + std::min(ids.size(), i + kChunk));
    std::string body = common::encode_get_many(chunk, static_cast<uint64_t>(timeout.count()), {});
    results_.send(zmq::buffer(body), zmq::send_flags::none);
    ++requests;
  }
  out.queued_us.reserve(ids.size());
  out.run_us.reserve(ids.size());
  for (std::size_t i = 0; i < requests; ++i) {
    zmq::message_t m = recv(results_, timeout + std::chrono::seconds(5));
    if (m.size() == 0) break;
    auto r = common::decode_reply(common::view(m));
    if (!r) continue;
    const auto* results = common::find_field(r->root(), "results");
    for (uint32_t k = 0; results && k < results->via.array.size; ++k) {
      const auto& res = results->via.array.ptr[k];
      auto state = common::str_field(res, "state");
      std::string_view s = state && *state ? **state : "";
      if (s == "done") ++out.done;
      else if (s == "failed") ++out.failed;
      else ++out.lost;
      if (s == "done" || s == "failed") {
        out.queued_us.push_back(get_u(res, "queued_us"));
        out.run_us.push_back(get_u(res, "run_us"));
      }
    }
    if (progress_) progress_->update(out.done + out.failed, "done");
  }
  std::size_t answered = out.done + out.failed + out.lost;
  if (answered < ids.size()) out.lost += ids.size() - answered;
}

bool LoadClient::round_trip(const TaskKind& kind, uint64_t wait_ms) {
  common::SubmitArgs a;
  a.script = kind.script;
  a.func = kind.func;
  a.args_msgpack = kind.args_msgpack;
  a.type = kind.type;
  front_.send(zmq::buffer(common::encode_submit(a, {})), zmq::send_flags::none);
  zmq::message_t ack = recv(front_, std::chrono::seconds(10));
  auto r = common::decode_reply(common::view(ack));
  if (!r || r->op != "accepted") return false;
  results_.send(zmq::buffer(common::encode_get(r->id, wait_ms, {})), zmq::send_flags::none);
  zmq::message_t res = recv(results_, std::chrono::milliseconds(wait_ms + 5000));
  auto g = common::decode_reply(common::view(res));
  return g && g->state == "done";
}

common::Reply LoadClient::status(std::chrono::milliseconds timeout) {
  results_.send(zmq::buffer(common::encode_status_request({})), zmq::send_flags::none);
  last_ = recv(results_, timeout);
  auto r = common::decode_reply(common::view(last_));
  if (!r) throw std::runtime_error("no status reply: " + r.error());
  return std::move(*r);
}

}  // namespace zfleet::bench

namespace zfleet::bench {

std::size_t LoadClient::alive_workers(std::chrono::milliseconds timeout) {
  common::Reply r = status(timeout);
  std::size_t n = 0;
  const auto* workers = common::find_field(r.root(), "workers");
  for (uint32_t i = 0; workers && i < workers->via.array.size; ++i) {
    const auto* alive = common::find_field(workers->via.array.ptr[i], "alive");
    if (alive && alive->type == msgpack::type::BOOLEAN && alive->via.boolean) ++n;
  }
  return n;
}

std::map<std::string, uint64_t> LoadClient::worker_counts(const std::string& type) {
  common::Reply r = status();
  std::map<std::string, uint64_t> counts;
  const auto* workers = common::find_field(r.root(), "workers");
  for (uint32_t i = 0; workers && i < workers->via.array.size; ++i) {
    const auto& w = workers->via.array.ptr[i];
    auto id = common::str_field(w, "id");
    auto t = common::str_field(w, "type");
    const auto* alive = common::find_field(w, "alive");
    if (!id || !*id || !t || !*t || **t != type) continue;
    if (!alive || alive->type != msgpack::type::BOOLEAN || !alive->via.boolean) continue;
    counts[std::string(**id)] = get_u(w, "done") + get_u(w, "failed");
  }
  return counts;
}

}  // namespace zfleet::bench
