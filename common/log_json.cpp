#include "common/log_json.h"

#include <unistd.h>

#include <ctime>

#include <nlohmann/json.hpp>

namespace zfleet::common {
namespace {

constexpr std::string_view kTaskPrefix = "task ";

// "2026-12-03T12:00:00.123Z": UTC, milliseconds (RFC 3339).
std::string iso_time(spdlog::log_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

}  // namespace

std::optional<std::string> task_of_message(std::string_view msg) {
  if (msg.substr(0, kTaskPrefix.size()) != kTaskPrefix) return std::nullopt;
  std::string_view rest = msg.substr(kTaskPrefix.size());
  if (rest.empty()) return std::nullopt;
  if (rest.front() == '"') {
    // A quoted id (common::to_string(TaskRef)): a JSON string up to its
    // closing quote.
    for (std::size_t i = 1; i < rest.size(); ++i) {
      if (rest[i] == '\\') {
        ++i;
      } else if (rest[i] == '"') {
        auto parsed = nlohmann::json::parse(rest.substr(0, i + 1), nullptr, false);
        if (parsed.is_string()) return parsed.get<std::string>();
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  const std::size_t end = rest.find_first_of(" :");
  if (end == 0) return std::nullopt;
  return std::string(rest.substr(0, end));
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  static const int pid = static_cast<int>(::getpid());
  const std::string_view text(msg.payload.data(), msg.payload.size());
  nlohmann::json line = {
      {"time", iso_time(msg.time)},
      {"level", level_name(msg.level)},
      {"component", std::string_view(msg.logger_name.data(), msg.logger_name.size())},
      {"pid", pid},
  };
  if (auto task = task_of_message(text)) line["task"] = std::move(*task);
  line["msg"] = text;
  const std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  dest.append(out.data(), out.data() + out.size());
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace zfleet::common
