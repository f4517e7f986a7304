// ZFP/1 codec: the only code that turns public-protocol bytes into typed
// requests and typed replies into bytes (PROTOCOL.md). The broker decodes
// requests and encodes replies; the CLI and the bench encode requests and
// decode replies with the same functions, so the two sides cannot drift.
//
// Decoding never throws: malformed input yields a WireError carrying the
// protocol error code and a message for a human. Opaque values (`corr`, task
// args/kwargs, task results) travel as msgpack bytes: `corr`, args and kwargs
// are re-packed once from the decoded request (same values, shortest
// encoding), task results are spliced into replies as the worker sent them.
//
// Thread safety: functions only; safe from any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/msgpack_io.h"
#include "common/pools.h"
#include "common/protocol.h"
#include "common/result_record.h"
#include "common/status.h"

namespace zfleet::common {

enum class Op : uint8_t { submit, submit_batch, get, get_many, status, clear_cache, cancel };
std::string_view to_string(Op op);

struct WireError {
  ErrorCode code = ErrorCode::bad_request;
  std::string message;
};

// PROTOCOL.md "submit": the codes retried when a task gives no `retry_on`.
inline constexpr TaskErrorSet kDefaultRetryOn =
    error_bit(TaskErrorCode::exception) | error_bit(TaskErrorCode::timeout);
// Codes never allowed in retry_on: cancelled is final, worker_lost is
// governed by max_retries alone.
inline constexpr TaskErrorSet kNeverRetried =
    error_bit(TaskErrorCode::cancelled) | error_bit(TaskErrorCode::worker_lost);

struct CodecLimits {
  std::size_t max_batch = 10000;
  uint64_t max_delay_ms = 604800000;  // broker.max_delay_ms
  // The pools a `type` may name; null = io and cpu only. Not owned: it
  // must outlive the decoding (the broker's lives as long as the broker).
  const PoolNames* pools = nullptr;
  DecodeLimits msgpack;
};

// One task of a submit or submit_batch, validated. `payload` is what the
// worker receives (see encode_task_payload): the broker never looks inside.
struct TaskSpec {
  std::string id;          // empty: the broker assigns one
  PoolId pool = kIoPool;    // `type`, resolved against CodecLimits::pools
  uint64_t timeout_ms = 0; // 0: broker default
  uint32_t max_retries = 1;  // re-dispatches after a lost worker
  uint64_t delay_ms = 0;     // <= CodecLimits::max_delay_ms
  uint32_t retries = 0;      // re-runs after a failure whose code is in retry_on
  TaskErrorSet retry_on = kDefaultRetryOn;
  uint64_t retry_backoff_ms = 1000;
  std::string payload;
};

struct Request {
  Op op = Op::status;
  std::string corr;                  // raw msgpack of `corr` ("" = absent)
  // submit: one entry. submit_batch: one per task, in order.
  std::vector<std::expected<TaskSpec, WireError>> tasks;
  std::vector<std::string> ids;      // get, cancel: one; get_many: several
  uint64_t wait_ms = 0;              // get, get_many
  std::optional<std::string> script; // clear_cache
};

// Request decoding (broker side). `corr` is recovered even when the rest of
// the request is bad, so error replies can echo it: see `recover_corr`.
std::expected<Request, WireError> decode_request(std::string_view body, const CodecLimits& limits);
std::string recover_corr(std::string_view body);

// The script-shape check of PROTOCOL.md (non-empty, relative, no `..`, no
// NUL, <= 1024 bytes, ends in .py, or builtin:NAME). Returns an error message.
std::optional<std::string> check_script_shape(std::string_view script);

// The worker-bound payload of one task: msgpack [script, func, args, kwargs]
// where args and kwargs are bin holding their own msgpack bytes, and a
// fifth element `true` when the submit asked for the task's output
// (`"output": true`); payloads of 4 (journals of earlier versions) read
// as output false.
struct TaskPayloadView {
  std::string_view script, func, args_msgpack, kwargs_msgpack;
  bool output = false;
};
std::string encode_task_payload(std::string_view script, std::string_view func,
                                std::string_view args_msgpack, std::string_view kwargs_msgpack,
                                bool output = false);
std::expected<TaskPayloadView, std::string> decode_task_payload(std::string_view payload,
                                                               msgpack::object_handle& keep);

// Reply encoding (broker side). `corr` is raw msgpack or "".
std::string encode_accepted(std::string_view id, std::string_view corr);
std::string encode_accepted_batch(const std::vector<std::expected<std::string, WireError>>& ids,
                                  std::string_view corr);
std::string encode_error(const WireError& e, std::string_view id, std::string_view corr);
std::string encode_ok(std::string_view corr);
// A `result` reply. With `rec` (a finished task) state comes from it;
// without, `state` must be pending, running or unknown.
// `run_after_ms` (pending only): ms until a delayed task or one waiting for
// a retry becomes runnable; nullopt for every other state.
void append_result(std::string& out, std::string_view id, TaskState state,
                   const ResultRecord* rec, std::string_view corr,
                   std::optional<uint64_t> run_after_ms = std::nullopt);
std::string encode_result(std::string_view id, TaskState state, const ResultRecord* rec,
                          std::string_view corr, std::optional<uint64_t> run_after_ms = std::nullopt);
struct ResultEntry {
  std::string_view id;
  TaskState state;
  const ResultRecord* rec;
  std::optional<uint64_t> run_after_ms = std::nullopt;
};
std::string encode_results(const std::vector<ResultEntry>& entries, std::string_view corr);
std::string encode_status(const StatusSnapshot& s, std::string_view corr);
std::string encode_cancel_reply(std::string_view id, CancelOutcome outcome, std::string_view corr);

// Request encoding (client side: CLI, bench, tests).
struct SubmitArgs {
  std::string script;
  std::string func;             // "" = omit (worker default "main")
  std::string args_msgpack;     // "" = omit
  std::string kwargs_msgpack;   // "" = omit
  std::string type;             // "" = omit
  std::string id;               // "" = omit
  uint64_t timeout_ms = 0;      // 0 = omit
  std::optional<uint32_t> max_retries;
  uint64_t delay_ms = 0;        // 0 = omit
  std::optional<uint32_t> retries;
  std::vector<std::string> retry_on;  // empty = omit (broker default)
  std::optional<uint64_t> retry_backoff_ms;
  bool output = false;          // false = omit: return the task's stdout/stderr with its result
};
uint32_t submit_field_count(const SubmitArgs& a);
void append_submit_fields(std::string& out, const SubmitArgs& a);  // the map entries only
std::string encode_submit(const SubmitArgs& a, std::string_view corr);
std::string encode_submit_batch(const std::vector<SubmitArgs>& tasks, std::string_view corr);
std::string encode_get(std::string_view id, uint64_t wait_ms, std::string_view corr);
std::string encode_get_many(const std::vector<std::string>& ids, uint64_t wait_ms,
                            std::string_view corr);
std::string encode_status_request(std::string_view corr);
std::string encode_clear_cache(const std::optional<std::string>& script, std::string_view corr);
std::string encode_cancel(std::string_view id, std::string_view corr);

// Reply decoding (client side): the reply as a msgpack map plus the few
// fields every client needs typed.
struct Reply {
  msgpack::object_handle handle;  // the whole reply; strings point into the caller's bytes
  std::string op;
  std::string id;
  std::string state;              // result replies
  std::string code;               // error replies
  std::string message;            // error replies
  std::string outcome;            // cancel replies
  std::string corr;               // raw msgpack ("" = absent)
  const msgpack::object& root() const { return handle.get(); }
};
std::expected<Reply, std::string> decode_reply(std::string_view body);

// One task of an `accepted_batch` reply: its id, or (id empty) the error
// that refused it, with the code as the wire spells it.
struct BatchEntry {
  std::string id;
  std::string code, message;
};
// The entries of an `accepted_batch` reply, in the order of the tasks sent;
// an error when the reply is not one or its two lists do not line up.
std::expected<std::vector<BatchEntry>, std::string> decode_accepted_batch(const Reply& r);

}  // namespace zfleet::common
