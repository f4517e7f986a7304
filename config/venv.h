// Venv: what a worker needs to know about a virtualenv before it starts
// the embedded interpreter in it (--venv, python.venv, workers.<pool>.venv),
// and what the broker checks of its local pools' venvs when it loads its
// config (validate.cpp), so that a wrong venv stops the broker at start
// instead of making its local workers exit 2 in a loop.
//
// A venv made by `/usr/bin/python3 -m venv DIR` holds DIR/pyvenv.cfg
// ("key = value" lines: home, include-system-site-packages, version, ...)
// and DIR/bin/python3, a link to the interpreter that made it. Its
// site-packages are DIR/lib/pythonX.Y/site-packages: only an interpreter of
// that same X.Y can use them (compiled extension modules and the stdlib
// layout are per minor version), so a venv of another version is refused
// before the interpreter starts (exit 2) rather than failing task by task.
//
// Contract: parse_pyvenv_cfg() and python_version_of() are pure; check_venv()
// reads DIR and returns the problem as a sentence naming DIR and both
// versions, or nullopt when the venv can be used. The version is taken from
// `version` (written by the stdlib venv module) or, failing that,
// `version_info` (written by the virtualenv tool).
//
// Thread safety: functions only; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zfleet::config {

struct PythonVersion {
  int major = 0;
  int minor = 0;
  bool operator==(const PythonVersion&) const = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};

struct PyvenvCfg {
  std::string home;     // the folder of the interpreter that made it
  std::string version;  // as written: "3.11.2" (or version_info "3.11.2.final.0")
  bool include_system_site_packages = false;
};

// The keys above from the text of a pyvenv.cfg; unknown keys, comments and
// blank lines are skipped. nullopt when no line has the "key = value" shape.
std::optional<PyvenvCfg> parse_pyvenv_cfg(std::string_view text);

// Major and minor of "3.11.2", "3.11" or "3.11.2.final.0"; nullopt otherwise.
std::optional<PythonVersion> python_version_of(std::string_view version);

// The interpreter path tasks see as sys.executable in the venv `dir`.
std::string venv_python(const std::string& dir);

// nullopt when `dir` is a venv `embedded` can run in; else why not.
std::optional<std::string> check_venv(const std::string& dir, PythonVersion embedded);

// The Python zfleet was built against (CMake's Python3 major.minor): what
// its workers embed. A worker asks its libpython instead
// (worker/exec/python_runtime.h, embedded_python_version()).
PythonVersion built_python_version();

}  // namespace zfleet::config
