// The broker's logger ("broker"), shared by every broker source file.
// Thread safety: spdlog loggers are thread safe.
#pragma once

#include "common/log.h"

namespace zfleet::broker {

inline const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = common::make_logger("broker");
  return logger;
}

}  // namespace zfleet::broker
