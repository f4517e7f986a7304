// Frontend and results requests: the body of a ZFP/1 request, as a producer
// or client sends it (common::decode_request), and the same bytes as a reply
// (common::decode_reply, the CLI's side of the same endpoints).
//
// Properties:
// - an accepted request, re-encoded with the client encoders of
//   common/codec.h, decodes to the same request (the only value the client
//   encoder cannot express is an empty `retry_on`: it omits the field, which
//   means the broker's default);
// - the worker can read every payload intake builds (decode_task_payload);
// - recover_corr finds the corr the decoder kept, and the error reply that
//   echoes it is a valid reply whose message is valid UTF-8.
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/task_id.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace zfleet::common;

CodecLimits fuzz_limits() {
  CodecLimits l;
  l.max_batch = 64;  // small enough for the fuzzer to reach the too_large paths
  return l;
}

SubmitArgs to_args(const TaskSpec& t) {
  msgpack::object_handle keep;
  auto p = decode_task_payload(t.payload, keep);
  FUZZ_CHECK(p.has_value());
  SubmitArgs a;
  a.script = p->script;
  a.func = p->func;
  a.args_msgpack = p->args_msgpack;
  a.kwargs_msgpack = p->kwargs_msgpack;
  a.type = PoolNames().name(t.pool);
  a.output = p->output;
  a.id = t.id;
  a.timeout_ms = t.timeout_ms;
  a.max_retries = t.max_retries;
  a.delay_ms = t.delay_ms;
  a.retries = t.retries;
  for (unsigned i = 0; i < 16; ++i) {
    if (t.retry_on & (1u << i)) a.retry_on.emplace_back(to_string(static_cast<TaskErrorCode>(i)));
  }
  a.retry_backoff_ms = t.retry_backoff_ms;
  return a;
}

void check_same_task(const TaskSpec& a, const TaskSpec& b) {
  FUZZ_CHECK(a.id == b.id);
  FUZZ_CHECK(a.pool == b.pool);
  FUZZ_CHECK(a.timeout_ms == b.timeout_ms);
  FUZZ_CHECK(a.max_retries == b.max_retries);
  FUZZ_CHECK(a.delay_ms == b.delay_ms);
  FUZZ_CHECK(a.retries == b.retries);
  FUZZ_CHECK((a.retry_on != 0 ? a.retry_on : kDefaultRetryOn) == b.retry_on);
  FUZZ_CHECK(a.retry_backoff_ms == b.retry_backoff_ms);
  FUZZ_CHECK(a.payload == b.payload);
}

std::string reencode(const Request& r) {
  switch (r.op) {
    case Op::submit:
      return encode_submit(to_args(*r.tasks.at(0)), r.corr);
    case Op::submit_batch: {
      std::vector<SubmitArgs> args;
      for (const auto& t : r.tasks) {
        if (t) args.push_back(to_args(*t));
      }
      return encode_submit_batch(args, r.corr);
    }
    case Op::get:
      return encode_get(r.ids.at(0), r.wait_ms, r.corr);
    case Op::get_many:
      return encode_get_many(r.ids, r.wait_ms, r.corr);
    case Op::status:
      return encode_status_request(r.corr);
    case Op::clear_cache:
      return encode_clear_cache(r.script, r.corr);
    case Op::cancel:
      return encode_cancel(r.ids.at(0), r.corr);
  }
  FUZZ_CHECK(!"unknown op");
  return {};
}

void check_round_trip(const Request& r, const CodecLimits& limits) {
  if (r.op == Op::submit && !r.tasks.at(0)) return;  // refused task: nothing to re-encode
  std::string again = reencode(r);
  auto r2 = decode_request(again, limits);
  FUZZ_CHECK(r2.has_value());
  FUZZ_CHECK(r2->op == r.op);
  FUZZ_CHECK(r2->corr == r.corr);
  FUZZ_CHECK(r2->ids == r.ids);
  FUZZ_CHECK(r2->wait_ms == r.wait_ms);
  FUZZ_CHECK(r2->script == r.script);
  size_t j = 0;
  for (const auto& t : r.tasks) {
    if (!t) continue;
    FUZZ_CHECK(j < r2->tasks.size() && r2->tasks[j].has_value());
    check_same_task(*t, *r2->tasks[j]);
    ++j;
  }
  FUZZ_CHECK(j == r2->tasks.size());
}

void check_error_reply(const WireError& e, std::string_view body) {
  std::string corr = recover_corr(body);
  std::string reply = encode_error(e, "", corr);
  auto decoded = decode_reply(reply);
  FUZZ_CHECK(decoded.has_value());
  FUZZ_CHECK(decoded->op == "error");
  FUZZ_CHECK(decoded->corr == corr);
  FUZZ_CHECK(valid_utf8(decoded->message));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = zfleet::fuzz::as_view(data, size);
  static const CodecLimits limits = fuzz_limits();

  auto r = decode_request(body, limits);
  if (r) {
    FUZZ_CHECK(recover_corr(body) == r->corr);
    for (const auto& t : r->tasks) {
      if (!t) check_error_reply(t.error(), body);
    }
    check_round_trip(*r, limits);
  } else {
    check_error_reply(r.error(), body);
  }

  if (auto reply = decode_reply(body)) {
    FUZZ_CHECK(!reply->op.empty());
    FUZZ_CHECK(reply->corr == recover_corr(body));
  }
  return 0;
}
