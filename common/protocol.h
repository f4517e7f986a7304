// ZFP/1 vocabulary: the names of ops, error codes, task error codes and task
// states, and the ONLY table that maps each enum to its wire
// string. Every component (broker, worker, CLI, bench) spells the protocol
// through this header; nothing else writes these strings.
//
// Thread safety: constants and pure functions only; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zfleet::common {

inline constexpr std::string_view kVersion = "0.1.0";

// Request-level error codes (`{"op":"error","code":...}`).
enum class ErrorCode : uint8_t { bad_request, too_large, duplicate_id, queue_full, shutting_down };

// Codes of a failed task (`error.code` of a `result` whose state is failed).
enum class TaskErrorCode : uint8_t {
  script_not_found,
  script_not_allowed,
  script_error,
  func_not_found,
  exception,
  unserializable_result,
  timeout,
  worker_lost,
  cancelled,
};

// Lifecycle as a client sees it. `unknown`: never submitted, or evicted.
enum class TaskState : uint8_t { pending, running, done, failed, unknown };

// The answer to a `cancel` request (PROTOCOL.md "cancel").
enum class CancelOutcome : uint8_t { cancelled, cancelling, too_late, unknown };

// A set of TaskErrorCodes (bit i = code i), for a task's `retry_on`.
using TaskErrorSet = uint16_t;
inline constexpr TaskErrorSet error_bit(TaskErrorCode c) {
  return static_cast<TaskErrorSet>(1u << static_cast<unsigned>(c));
}

std::string_view to_string(ErrorCode c);
std::string_view to_string(TaskErrorCode c);
std::string_view to_string(TaskState s);
std::string_view to_string(CancelOutcome o);

std::optional<TaskErrorCode> task_error_from_string(std::string_view s);
std::optional<TaskState> task_state_from_string(std::string_view s);
std::optional<ErrorCode> error_code_from_string(std::string_view s);
std::optional<CancelOutcome> cancel_outcome_from_string(std::string_view s);

// A failed task's error. `type` and `traceback` are filled for Python
// exceptions only (code == exception), empty otherwise.
struct TaskError {
  TaskErrorCode code = TaskErrorCode::exception;
  std::string message;
  std::string type;
  std::string traceback;
};

// Builtin scripts run natively in the worker (PROTOCOL.md "Builtin tasks").
inline constexpr std::string_view kBuiltinPrefix = "builtin:";

}  // namespace zfleet::common
