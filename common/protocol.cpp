#include "common/protocol.h"

#include <array>

namespace zfleet::common {
namespace {

// One table per enum, indexed by the enum value: the single source of the
// wire spelling. Order must follow the enum declarations in protocol.h.
constexpr std::array<std::string_view, 5> kErrorNames = {
    "bad_request", "too_large", "duplicate_id", "queue_full", "shutting_down"};
constexpr std::array<std::string_view, 9> kTaskErrorNames = {
    "script_not_found", "script_not_allowed", "script_error", "func_not_found",
    "exception",        "unserializable_result", "timeout",   "worker_lost",
    "cancelled"};
constexpr std::array<std::string_view, 5> kStateNames = {"pending", "running", "done", "failed",
                                                         "unknown"};

constexpr std::array<std::string_view, 4> kCancelNames = {"cancelled", "cancelling", "too_late",
                                                          "unknown"};

template <typename E, std::size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ErrorCode c) { return kErrorNames.at(static_cast<std::size_t>(c)); }
std::string_view to_string(TaskErrorCode c) {
  return kTaskErrorNames.at(static_cast<std::size_t>(c));
}
std::string_view to_string(TaskState s) { return kStateNames.at(static_cast<std::size_t>(s)); }
std::string_view to_string(CancelOutcome o) { return kCancelNames.at(static_cast<std::size_t>(o)); }

std::optional<TaskErrorCode> task_error_from_string(std::string_view s) {
  return lookup<TaskErrorCode>(kTaskErrorNames, s);
}
std::optional<TaskState> task_state_from_string(std::string_view s) {
  return lookup<TaskState>(kStateNames, s);
}
std::optional<ErrorCode> error_code_from_string(std::string_view s) {
  return lookup<ErrorCode>(kErrorNames, s);
}
std::optional<CancelOutcome> cancel_outcome_from_string(std::string_view s) {
  return lookup<CancelOutcome>(kCancelNames, s);
}

}  // namespace zfleet::common
