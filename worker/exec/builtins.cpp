#include "worker/exec/builtins.h"

#include <string>
#include <thread>

#include "worker/exec/msgpack_check.h"

namespace zfleet::worker {
namespace {

using common::TaskErrorCode;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kMsgpackNil = "\xc0";

TaskOutput value_error(std::string message) {
  return TaskOutput::failure(TaskErrorCode::exception, std::move(message), "ValueError");
}

// The args array, decoded (an empty view or nil mean []).
std::expected<msgpack::object_handle, std::string> decode_builtin_args(std::string_view args) {
  if (args.empty() || args == kMsgpackNil) return msgpack::object_handle();
  auto handle = decode_untrusted(args, kMaxMsgpackDepth + 1);
  if (handle && handle->get().type != msgpack::type::ARRAY) {
    return std::unexpected("args must be a msgpack array");
  }
  return handle;
}

std::size_t arg_count(const msgpack::object_handle& args) {
  return args.get().type == msgpack::type::ARRAY ? args.get().via.array.size : 0;
}

// args[0] as a non-negative integer no larger than `max`, or the task error.
std::expected<uint64_t, TaskOutput> duration_arg(std::string_view name,
                                                 const msgpack::object_handle& args, uint64_t max) {
  const std::string who(name);
  if (arg_count(args) == 0) return std::unexpected(TaskOutput::type_error(who + " expects one integer argument"));
  const msgpack::object& obj = args.get().via.array.ptr[0];
  if (obj.type == msgpack::type::NEGATIVE_INTEGER) {
    return std::unexpected(value_error(who + " expects a non-negative integer"));
  }
  if (obj.type != msgpack::type::POSITIVE_INTEGER) {
    return std::unexpected(TaskOutput::type_error(who + " expects an integer argument"));
  }
  if (obj.via.u64 > max) {
    return std::unexpected(value_error(who + " argument " + std::to_string(obj.via.u64) +
                                       " is out of range (max " + std::to_string(max) + ")"));
  }
  return obj.via.u64;
}

TaskOutput timed_out(const TaskInput& in) {
  return TaskOutput::failure(TaskErrorCode::timeout,
                             std::string(in.script) + " exceeded its timeout of " +
                                 std::to_string(in.timeout_ms) + " ms");
}

TaskOutput cancelled(const TaskInput& in) {
  return TaskOutput::failure(TaskErrorCode::cancelled,
                             std::string(in.script) + " was cancelled while running");
}

// The task's end: `want` from now, cut at the deadline when one is set.
// Returns true when the deadline cuts it.
bool end_time(const TaskInput& in, Clock::time_point start, Clock::duration want,
              Clock::time_point& end) {
  end = start + want;
  if (in.timeout_ms == 0) return false;
  const auto deadline = start + std::chrono::milliseconds(in.timeout_ms);
  if (deadline < end) {
    end = deadline;
    return true;
  }
  return false;
}

TaskOutput run_sleep(const TaskInput& in, const msgpack::object_handle& args,
                     Clock::time_point start) {
  const auto max_ms = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBuiltinDuration);
  auto ms = duration_arg("builtin:sleep", args, max_ms.count());
  if (!ms) return std::move(ms.error());
  Clock::time_point end;
  const bool cut = end_time(in, start, std::chrono::milliseconds(*ms), end);
  if (in.cancel) {
    // Waits on the flag, so a cancel ends the sleep at once, not at its end.
    if (in.cancel->wait_until(end)) return cancelled(in);
  } else {
    std::this_thread::sleep_until(end);
  }
  return cut ? timed_out(in) : TaskOutput::success(std::string(kMsgpackNil));
}

TaskOutput run_spin(const TaskInput& in, const msgpack::object_handle& args,
                    Clock::time_point start) {
  const auto max_us = std::chrono::duration_cast<std::chrono::microseconds>(kMaxBuiltinDuration);
  auto us = duration_arg("builtin:spin", args, max_us.count());
  if (!us) return std::move(us.error());
  Clock::time_point end;
  const bool cut = end_time(in, start, std::chrono::microseconds(*us), end);
  while (Clock::now() < end) {
    // Busy on purpose: spin models CPU-bound work. The flag is one atomic
    // load, far cheaper than the clock read next to it.
    if (in.cancel && in.cancel->requested()) return cancelled(in);
  }
  return cut ? timed_out(in) : TaskOutput::success(std::string(kMsgpackNil));
}

}  // namespace

bool is_builtin(std::string_view script) { return script.starts_with(common::kBuiltinPrefix); }

TaskOutput run_builtin(const TaskInput& in) {
  const auto start = Clock::now();
  const std::string_view name = in.script.substr(common::kBuiltinPrefix.size());
  if (name != "echo" && name != "sleep" && name != "spin") {
    return TaskOutput::failure(TaskErrorCode::script_not_found,
                               "unknown builtin '" + std::string(in.script) + "'");
  }
  auto args = decode_builtin_args(in.args_msgpack);
  if (!args) {
    return TaskOutput::type_error(std::string(in.script) + ": invalid args: " + args.error());
  }
  try {
    if (name == "echo") {
      // args[0] byte for byte: the broker stores and returns it as is.
      if (arg_count(*args) == 0) return TaskOutput::success(std::string(kMsgpackNil));
      return TaskOutput::success(std::string(first_element(in.args_msgpack)));
    }
    if (name == "sleep") return run_sleep(in, *args, start);
    return run_spin(in, *args, start);
  } catch (const std::exception& e) {  // bad_alloc copying a result; nothing else throws
    return TaskOutput::failure(TaskErrorCode::exception, e.what(), "MemoryError");
  }
}

}  // namespace zfleet::worker
