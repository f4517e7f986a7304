#include "worker/start_checks.h"

#include <filesystem>

namespace zfleet::worker {
namespace {

// nullopt when `dir` is a folder; else what it is instead.
std::optional<std::string> folder_problem(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found) return "does not exist";
  if (ec) return "cannot be read (" + ec.message() + ")";
  if (st.type() != fs::file_type::directory) return "is not a folder";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_start(const StartPaths& paths, PythonVersion embedded) {
  for (const auto& root : paths.script_roots) {
    if (auto why = folder_problem(root)) {
      return "script root " + root + " " + *why + " (" + paths.script_roots_from + ")";
    }
  }
  for (const auto& dir : paths.python_path) {
    if (auto why = folder_problem(dir)) {
      return "python path entry " + dir + " " + *why + " (" + paths.python_path_from + ")";
    }
  }
  if (!paths.venv.empty()) {
    if (auto why = config::check_venv(paths.venv, embedded)) return *why + " (" + paths.venv_from + ")";
  }
  return std::nullopt;
}

}  // namespace zfleet::worker
