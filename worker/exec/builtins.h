// Builtin tasks (PROTOCOL.md "Builtin tasks"): run natively in the calling
// pool thread, never touch Python or the GIL. For benchmarks and health checks.
//
//   builtin:echo   returns args[0] byte for byte (nil when args is empty)
//   builtin:sleep  sleeps args[0] milliseconds, returns nil
//   builtin:spin   busy-loops args[0] microseconds, returns nil
//
// Unknown name -> script_not_found. Bad args (garbage, not an array, missing,
// non-integer, negative, over kMaxBuiltinDuration) -> code `exception` with
// type TypeError/ValueError. With timeout_ms > 0, sleep and spin stop at the
// deadline and report `timeout` instead of overrunning it. With in.cancel
// set, sleep and spin also stop as soon as the flag is raised and report
// `cancelled` (sleep waits on the flag, so it wakes at once); echo has
// nothing to interrupt and always finishes.
//
// Thread safety: stateless; run_builtin() may run concurrently on any thread.
#pragma once

#include <chrono>
#include <string_view>

#include "worker/exec/task_io.h"

namespace zfleet::worker {

// Longest sleep/spin a builtin accepts; also keeps deadline arithmetic far
// from overflowing steady_clock.
inline constexpr std::chrono::hours kMaxBuiltinDuration{24};

// True when `script` names a builtin ("builtin:..."), whether or not it exists.
bool is_builtin(std::string_view script);

// Runs the builtin named by in.script. Never throws.
TaskOutput run_builtin(const TaskInput& in);

}  // namespace zfleet::worker
