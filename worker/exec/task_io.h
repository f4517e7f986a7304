// TaskInput / TaskOutput: what a pool thread hands to TaskRunner::run() and
// what it gets back. Plain values; the views in TaskInput point into the
// task frame the I/O thread received and must outlive the run() call.
// `cancel`, when set, is the running pool thread's CancelFlag (cancel_flag.h):
// the I/O thread may set it at any time during run(); builtins and the
// Python executor then stop early and report `cancelled`.
//
// Thread safety: plain structs; only *cancel is shared (it synchronizes
// itself).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/protocol.h"
#include "worker/exec/cancel_flag.h"

namespace zfleet::worker {

struct TaskInput {
  std::string_view id;
  std::string_view script;          // as submitted: "sub/x.py" or "builtin:echo|sleep|spin"
  std::string_view func;            // "main" when the client gave none
  std::string_view args_msgpack;    // msgpack bytes of an array; empty view means []
  std::string_view kwargs_msgpack;  // msgpack bytes of a map with str keys; empty view means {}
  uint32_t timeout_ms = 0;          // 0 = no limit
  CancelFlag* cancel = nullptr;     // null: this run cannot be cancelled
  bool capture_output = false;      // the submit asked for its output ("output": true)
};

// Which tasks' output comes back in their results (output_capture.h):
// every task's (the pool's capture_output, --capture-output) or only those
// that asked ("output": true), and how much of it at most.
struct OutputPolicy {
  bool capture_all = false;
  uint64_t max_bytes = 65536;
};

struct TaskOutput {
  bool ok = false;
  std::string result_msgpack;  // ok: msgpack bytes of the return value (nil for None)
  common::TaskError error;     // !ok: code, message; type + traceback for Python exceptions
  std::string output;          // the task's stdout/stderr when captured ("" otherwise),
                               // cut at OutputPolicy::max_bytes and marked

  static TaskOutput success(std::string msgpack_bytes) {
    TaskOutput out;
    out.ok = true;
    out.result_msgpack = std::move(msgpack_bytes);
    return out;
  }
  static TaskOutput failure(common::TaskErrorCode code, std::string message,
                            std::string type = {}, std::string traceback = {}) {
    TaskOutput out;
    out.error = common::TaskError{code, std::move(message), std::move(type), std::move(traceback)};
    return out;
  }
  // Bad arguments, reported as Python reports them (exception TypeError).
  static TaskOutput type_error(std::string message) {
    return failure(common::TaskErrorCode::exception, std::move(message), "TypeError");
  }
  static TaskOutput failure(common::TaskError error) {
    TaskOutput out;
    out.error = std::move(error);
    return out;
  }
};

}  // namespace zfleet::worker
