// Fail loudly (DESIGN decision 9): a serving thread that dies takes its
// process down at once with a non-zero exit, so that its supervisor (the
// broker for local workers, systemd for the broker) starts a fresh one. A
// process that is up is a process that serves.
//
// die(): logs `what` at critical on `log`, flushes, and _Exits with
// kThreadDiedExit without running destructors (other threads may hold the
// locks and sockets those destructors would wait on).
//
// fault_point(): a test hook. `ZFLEET_FAULT=name[,name...]` in the
// environment makes fault_point("name") throw std::runtime_error the first
// time it is reached after ZFLEET_FAULT_AFTER (default 0) earlier calls of
// that point, so that integration tests can kill one thread's work and
// check that the process exits. Unset, it costs one relaxed load.
//
// Thread safety: both may be called from any thread.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace zfleet::common {

// Exit code of a process whose serving thread died (EX_SOFTWARE).
inline constexpr int kThreadDiedExit = 70;

[[noreturn]] void die(const std::shared_ptr<spdlog::logger>& log, std::string_view what);

void fault_point(std::string_view name);

}  // namespace zfleet::common
