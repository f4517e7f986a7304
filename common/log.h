// Logging set-up: one spdlog logger per component ("broker", "worker",
// "cli", "bench", ...), all writing to stderr with the component and pid in
// each line, so the interleaved output of a fleet stays readable.
//
// Thread safety: spdlog loggers are thread safe; make_logger may be called
// from any thread (the registry is locked), set_log_level likewise.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace zfleet::common {

// Returns the logger named `component`, creating it on first use.
std::shared_ptr<spdlog::logger> make_logger(const std::string& component);

// Sets the level of every zfleet logger (existing and future). Returns false
// when `level` is not one of trace debug info warn error critical off.
bool set_log_level(std::string_view level);

}  // namespace zfleet::common
