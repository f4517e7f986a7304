#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace zfleet::common {

std::shared_ptr<spdlog::logger> make_logger(const std::string& component) {
  // The registry lookup and creation must be one step, or two threads
  // creating the same logger race into spdlog's "already exists" error.
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = spdlog::stderr_color_mt(component);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n %P] %v");
  logger->set_level(spdlog::get_level());
  return logger;
}

bool set_log_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers `off` for anything it does not know: tell the two apart.
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);  // applies to every registered logger
  return true;
}

}  // namespace zfleet::common
