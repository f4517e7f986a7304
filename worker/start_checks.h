// Start checks: the folders a worker's tasks depend on must exist before it
// registers with a broker. A worker with a missing script root would take
// tasks and fail every one with script_not_found; one with a missing venv or
// python-path entry would fail them on import. Refusing to start (exit 2,
// common::kExitUsage) with the path and the flag or key that named it turns
// a fleet of failed tasks into one clear line for the operator. This holds
// for a bare `zfleet-worker` too, whose default script root is `tasks` in
// the current folder.
//
// Contract: check_start() looks at the filesystem only (no Python) and
// returns nullopt when every path is usable, else one sentence naming the
// first problem: the path, what is wrong, and `where` it came from. Script
// roots and python-path entries must be folders; the venv must pass
// check_venv() against `embedded` (config/venv.h).
//
// Thread safety: functions only; call from main at start-up.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/venv.h"

namespace zfleet::worker {

using config::PythonVersion;

struct StartPaths {
  std::vector<std::string> script_roots;
  std::string script_roots_from;  // "--script-root", "python.script_roots in fleet.yaml", ...
  std::vector<std::string> python_path;
  std::string python_path_from;
  std::string venv;  // "" = none
  std::string venv_from;
};

std::optional<std::string> check_start(const StartPaths& paths, PythonVersion embedded);

}  // namespace zfleet::worker
