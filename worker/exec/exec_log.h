// The logger of task execution: the worker's component logger ("worker",
// common/log.h). Used on rare events only (module loads and load failures),
// never per task.
//
// Thread safety: spdlog's registry and loggers are thread-safe.
#pragma once

#include <memory>

#include "common/log.h"

namespace zfleet::worker {

inline const std::shared_ptr<spdlog::logger>& exec_logger() {
  static const auto logger = common::make_logger("worker");
  return logger;
}

}  // namespace zfleet::worker
