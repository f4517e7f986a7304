// Logging: one spdlog logger per component ("broker", "worker", "cli", ...),
// all writing to stderr through ONE bounded asynchronous queue, so a log
// output that cannot be written (a pipe nobody reads, a stopped terminal)
// never stalls a thread that serves: when the queue is full the oldest line
// is dropped and counted (log_messages_dropped()), never waited for.
//
// Formats (logging.format): text, "2026-12-03 12:00:00.123 info  [broker 42]
// message"; or json, one object a line: {"time", "level", "component",
// "pid", "task" (when the line is about a task), "msg"}. A line is about a
// task when its message starts with task_ref(id): "task <id>: ...";
// task_ref() writes an id that holds a space, ':' or '"' as a JSON string
// so the JSON formatter reads it back exactly.
//
// Thread safety: every function may be called from any thread; configure
// and shut down once, from the main thread, before and after the others.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace zfleet::common {

enum class LogFormat { text, json };

// Lines the queue holds before it drops the oldest: with task output cut at
// 16 KiB a line (worker/exec/output_buffer.h), at most ~32 MiB in flight.
inline constexpr std::size_t kLogQueueLines = 2048;

// Sets the format of every zfleet logger (existing and future). Call once
// at start, after the configuration is read.
void set_log_format(LogFormat f);
// "text" | "json"; false (nothing changed) for anything else.
bool set_log_format(std::string_view name);

// Returns the logger named `component`, creating it on first use.
std::shared_ptr<spdlog::logger> make_logger(const std::string& component);

// Sets the level of every zfleet logger (existing and future). Returns false
// when `level` is not one of trace debug info warn error critical off.
bool set_log_level(std::string_view level);

// Lines dropped so far because the queue was full (the output was stuck).
uint64_t log_messages_dropped();

// Logs a warning on `log` when lines were dropped since the last call, at
// most once per `every`. For a process's periodic housekeeping.
void report_dropped_logs(spdlog::logger& log, std::chrono::milliseconds every = std::chrono::seconds(10));

// Writes what is queued and stops the log thread, waiting at most `limit`.
// False when the output stayed stuck: the log thread is then blocked in a
// write, and the caller must leave with std::_Exit (a normal exit would
// wait for that thread for ever in spdlog's static destructors).
bool stop_logging(std::chrono::milliseconds limit);

// "task <id>", the start of every log line about one task: log with
// `log->debug("{}: dispatched", task_ref(id))`. Formatted only when the line
// is written (no cost at a level that is off).
struct TaskRef {
  std::string_view id;
};
inline TaskRef task_ref(std::string_view id) { return TaskRef{id}; }
std::string to_string(TaskRef r);

}  // namespace zfleet::common

template <>
struct fmt::formatter<zfleet::common::TaskRef> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const zfleet::common::TaskRef& r, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(zfleet::common::to_string(r), ctx);
  }
};
