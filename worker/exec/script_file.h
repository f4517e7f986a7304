// Reading a task script that may be rewritten in place while tasks run
// (issue 12, point 6). Editors, `cp` and deploy scripts often truncate a
// file and write it again in several write() calls; a reader in between
// sees an empty file, half a file, or a file that is valid Python up to a
// cut (a def missing). This is the filesystem half of the defence
// (module_cache.h decides what to run):
//
// - quiet(): a file is taken as finished once nothing has changed it for
//   kSettle: its ctime (which every write, truncate and rename moves, and
//   which utime cannot set back) is at least kSettle old. A writer that
//   pauses longer than that between two writes defeats it; renaming a
//   complete file over the old one never needs it (docs/tasks.md).
// - wait_until_quiet(): sleeps (the caller has released the GIL) until the
//   file at `path` is quiet, following it through further changes, for at
//   most `limit`; a stamp that stays the same for kSettle of our own
//   watching counts as quiet too (a clock set back would otherwise leave a
//   ctime in the future for ever).
// - read_script(): the whole content from ONE open, with the stamp of that
//   open file (fstat) before and after the read: a file changed while being
//   read is reported as such, never handed over as if it were one version.
//
// Thread safety: functions only; safe from any thread; no Python.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "worker/exec/script_path.h"

namespace zfleet::worker {

inline constexpr std::chrono::milliseconds kSettle{100};

// Wall-clock nanoseconds (CLOCK_REALTIME), the clock of a file's ctime.
int64_t wall_now_ns();

bool quiet(const FileStamp& stamp, int64_t now_ns, std::chrono::nanoseconds settle = kSettle);

struct Settled {
  bool quiet = false;  // false: still changing when `limit` ran out (or gone)
  FileStamp stamp;     // the file's stamp at the end
  bool missing = false;  // the file disappeared
};

Settled wait_until_quiet(const std::string& path, FileStamp stamp, std::chrono::milliseconds limit,
                         std::chrono::nanoseconds settle = kSettle);

struct ScriptSnapshot {
  bool ok = false;               // read to the end
  std::string error;             // !ok: why (strerror)
  std::string bytes;
  FileStamp stamp;               // of the open file, before the read
  bool changed_while_reading = false;  // its stamp after the read differs
};

ScriptSnapshot read_script(const std::string& path);

}  // namespace zfleet::worker
