// The exit codes of the `zfleet` CLI: one table, used by every command, shown
// in `zfleet --help` (exit_codes_help) and in docs/cli.md. Scripts branch on
// these numbers, so a code never changes meaning; new ones are added at the
// end.
//
// Where one command handles several ids (cancel, wait), it exits with the
// largest code any of them gave (so a broker error outranks an unknown id,
// which outranks a timeout, which outranks a failed task).
//
// Thread safety: constants only.
#pragma once

namespace zfleet::cli {

inline constexpr int kExitDone = 0;        // task done, request ok, every id cancelled or cancelling
inline constexpr int kExitFailed = 1;      // the task ended `failed`
inline constexpr int kExitUsage = 2;       // bad flags, bad JSON, bad config or key files
inline constexpr int kExitNoAnswer = 3;    // no answer from the broker in time (down, unreachable,
                                           // refused CURVE key), or `wait --timeout-ms` passed
inline constexpr int kExitPending = 4;     // the task is still pending or running
inline constexpr int kExitUnknownId = 5;   // no such task (never submitted, or expired)
inline constexpr int kExitRefused = 6;     // the broker answered with an error (bad_request,
                                           // queue_full, duplicate_id, too_large, shutting_down)
inline constexpr int kExitTooLate = 7;     // cancel: the task had already finished

// The footer of `zfleet --help`.
inline constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  done (task done, request ok, every id cancelled or cancelling)\n"
    "  1  task failed\n"
    "  2  usage error (flags, JSON, config, key files)\n"
    "  3  no answer from the broker (timeout, unreachable), or wait's --timeout-ms passed\n"
    "  4  task still pending or running\n"
    "  5  unknown task id\n"
    "  6  the broker refused the request (bad_request, queue_full, duplicate_id, ...)\n"
    "  7  cancel came too late (the task had already finished)\n"
    "With several ids (cancel, wait) the largest code of any id.";

}  // namespace zfleet::cli
