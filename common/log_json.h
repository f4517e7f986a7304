// JsonLogFormatter: spdlog formatter writing one JSON object per line:
// {"time":"2026-12-03T12:00:00.123Z","level":"info","component":"broker",
//  "pid":42,"task":"abc","msg":"..."}. "task" is there when the message
// starts with "task <id>" (common/log.h task_ref()); the message keeps it.
// Invalid UTF-8 in a message becomes U+FFFD (nlohmann::json's replace).
//
// Thread safety: spdlog calls format() from its one async log thread; each
// logger gets its own clone().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace zfleet::common {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// The task id a message is about ("task <id>: ..." or "task <id> stdout: ..."),
// as task_ref() wrote it; nullopt when the message is about no task.
std::optional<std::string> task_of_message(std::string_view msg);

}  // namespace zfleet::common
