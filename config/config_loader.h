// Loading and checking a FleetConfig: YAML text -> typed struct, defaults for
// every missing key, and range checks. Any problem raises ConfigError, whose
// what() is self-sufficient for a human and names file, line and key, e.g.
//   config/fleet.yaml:7: broker.queue_threads: must be >= 1 (got 0)
//   config/fleet.yaml:3: broker.frontnd: unknown key
//   config/fleet.yaml: cannot read config file (No such file or directory)
// The mains print what() and exit with code 2.
//
// Contract: a FleetConfig returned by these functions has passed validate()
// and its python.script_roots are absolute. Command-line overrides are applied
// by the mains afterwards, which then call validate() again.
//
// Thread safety: all functions are reentrant (no shared state); call them from
// any thread, typically once at start-up. Exceptions are for start-up only.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/fleet_config.h"

namespace zfleet::config {

class ConfigError : public std::runtime_error {
 public:
  // what() = "file[:line]: [key: ]detail"; line is 1-based, 0 when unknown
  // (then omitted), key is dotted ("broker.queue_threads") or empty.
  ConfigError(std::string file, int line, std::string key, std::string detail);

  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& key() const { return key_; }
  // The message without location, e.g. "must be >= 1 (got 0)".
  const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  int line_;
  std::string key_;
  std::string detail_;
};

// Who loads the file. The broker's checks go further: the files of
// `security` must be readable keys, and the script roots and venv of each
// pool it starts processes for must exist. Workers, the CLI and the bench
// (`peer`) load the same file on other hosts, where those files need not be.
enum class Role : uint8_t { broker, peer };

// The built-in defaults; source is kDefaultsSource and the relative default
// script root "tasks" is resolved against the current directory.
FleetConfig default_config();

// Reads and parses `path`. source = path as given; relative script roots are
// resolved against the file's folder. Throws ConfigError.
FleetConfig load_config_file(const std::string& path, Role role = Role::peer);

// Parses YAML text. `source_name` is used in messages and stored as source;
// relative script roots resolve against `base_dir` (itself made absolute
// against the current directory; empty = current directory). Throws
// ConfigError.
FleetConfig parse_config(std::string_view yaml_text, const std::string& source_name,
                         const std::string& base_dir, Role role = Role::peer);

// Range and consistency checks of every value (the same checks the loader
// applies). Throws ConfigError with file = cfg.source and line 0.
void validate(const FleetConfig& cfg, Role role = Role::peer);

// For clients (CLI, bench): fills `frontend` and `results` when empty, from
// the file at `config_path` or, when that is empty, the built-in defaults.
// Throws ConfigError.
void fill_client_endpoints(const std::string& config_path, std::string& frontend,
                           std::string& results);

// `path` made absolute against `base_dir` (when relative) and lexically
// normalised, without a trailing slash. Symlinks are not resolved. For mains
// that take script roots on the command line (base_dir = current directory).
std::string resolve_path(std::string_view path, const std::string& base_dir);

}  // namespace zfleet::config
