// The exit codes of zfleet-worker that its supervisor (the broker, for local
// workers) acts on. One table, so the two sides cannot drift.
//
// Thread safety: constants only.
#pragma once

namespace zfleet::common {

inline constexpr int kExitUsage = 2;      // bad flags or config, unknown pool, missing root or venv
inline constexpr int kExitStuck = 75;     // a task stuck past its timeout + kill grace: restart me
inline constexpr int kExitIdleCpu = 76;   // busy with no task (a leftover thread): restart me
inline constexpr int kExitRecycled = 77;  // max_tasks_per_process or max_rss_mb reached: restart me

}  // namespace zfleet::common
