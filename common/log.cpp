#include "common/log.h"

#include <pthread.h>
#include <signal.h>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/log_json.h"

namespace zfleet::common {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n %P] %v";

// The log thread takes no signal: it starts before the broker and the
// worker block SIGTERM/SIGINT for their threads, and a process-directed
// signal delivered to it would kill the process instead of draining it.
std::shared_ptr<spdlog::details::thread_pool> start_pool() {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  auto pool = std::make_shared<spdlog::details::thread_pool>(kLogQueueLines, 1);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return pool;
}

// The one queue, log thread and stderr sink of the process. Never deleted:
// it must outlive every static destructor that might still log, and its
// thread is stopped only by stop_logging() (a stuck one is left to _Exit).
struct LogState {
  std::mutex mu;  // guards format, pool (the pointer) and creation
  LogFormat format = LogFormat::text;
  std::shared_ptr<spdlog::details::thread_pool> pool = start_pool();
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::atomic<uint64_t> dropped_before_stop{0};
  // report_dropped_logs
  std::mutex report_mu;
  uint64_t reported = 0;
  std::chrono::steady_clock::time_point last_report{};

  LogState() { apply_format(); }
  void apply_format() {
    if (format == LogFormat::json) {
      sink->set_formatter(std::make_unique<JsonLogFormatter>());
    } else {
      sink->set_pattern(kTextPattern);
    }
  }
};

LogState& state() {
  static LogState* s = new LogState;
  return *s;
}

}  // namespace

void set_log_format(LogFormat f) {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  s.format = f;
  s.apply_format();
}

bool set_log_format(std::string_view name) {
  if (name == "text") set_log_format(LogFormat::text);
  else if (name == "json") set_log_format(LogFormat::json);
  else return false;
  return true;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& component) {
  // The registry lookup and creation must be one step, or two threads
  // creating the same logger race into spdlog's "already exists" error.
  LogState& s = state();
  std::lock_guard lock(s.mu);
  if (auto existing = spdlog::get(component)) return existing;
  // overrun_oldest: a full queue drops its oldest line instead of blocking
  // the caller (the point of the whole set-up, see the header).
  auto logger = std::make_shared<spdlog::async_logger>(component, s.sink, s.pool,
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_level(spdlog::get_level());
  spdlog::register_logger(logger);
  return logger;
}

bool set_log_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers `off` for anything it does not know: tell the two apart.
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);  // applies to every registered logger
  return true;
}

uint64_t log_messages_dropped() {
  LogState& s = state();
  std::lock_guard lock(s.mu);
  return s.pool ? s.pool->overrun_counter() : s.dropped_before_stop.load();
}

void report_dropped_logs(spdlog::logger& log, std::chrono::milliseconds every) {
  const uint64_t dropped = log_messages_dropped();
  LogState& s = state();
  std::lock_guard lock(s.report_mu);
  const auto now = std::chrono::steady_clock::now();
  if (dropped == s.reported || now - s.last_report < every) return;
  log.warn("{} log line(s) dropped since the last report: the log output is stuck or too slow "
           "({} in all)", dropped - s.reported, dropped);
  s.reported = dropped;
  s.last_report = now;
}

bool stop_logging(std::chrono::milliseconds limit) {
  LogState& s = state();
  std::shared_ptr<spdlog::details::thread_pool> pool;
  {
    std::lock_guard lock(s.mu);
    if (!s.pool) return true;  // already stopped
    s.dropped_before_stop = s.pool->overrun_counter();
    pool = std::move(s.pool);
  }
  // Whatever logs from now on is dropped quietly (its logger's pool is gone).
  spdlog::set_level(spdlog::level::off);
  // The pool's destructor writes every queued line, then joins its thread:
  // run it where a stuck write cannot hold this thread past `limit`.
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::thread([pool = std::move(pool), done]() mutable {
    pool.reset();
    std::lock_guard lock(done->mu);
    done->done = true;
    done->cv.notify_all();
  }).detach();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  std::unique_lock lock(done->mu);
  return done->cv.wait_for(lock, limit, [&] { return done->done; });
}

}  // namespace zfleet::common

namespace {

// An id is written bare unless that would make "task <id>: ..." ambiguous.
bool plain_id(std::string_view id) {
  if (id.empty()) return false;
  for (unsigned char c : id) {
    if (c <= 0x20 || c == 0x7f || c == ':' || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

std::string zfleet::common::to_string(TaskRef r) {
  const std::string_view id = r.id;
  if (plain_id(id)) return "task " + std::string(id);
  return "task " + nlohmann::json(std::string(id)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
