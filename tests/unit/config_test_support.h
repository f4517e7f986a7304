// Shared helpers of the config unit tests (config_test, config_errors_test):
// temp folders with real YAML files, and exact error-message checks.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "config/config_loader.h"

namespace config_testing {

namespace fs = std::filesystem;
using namespace zfleet::config;

// A fresh folder under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("zfleet_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` inside the folder; returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string source_file(const std::string& relative) {
  return std::string(ZFLEET_SOURCE_DIR) + "/" + relative;
}

// The ConfigError that loading `file` must raise.
inline ConfigError error_loading(const std::string& file, Role role = Role::peer) {
  try {
    (void)load_config_file(file, role);
  } catch (const ConfigError& e) {
    return e;
  }
  FAIL("no ConfigError from " << file << ":\n" << read_text(file));
  throw std::logic_error("unreachable");
}

// Writes `yaml` to a temp fleet.yaml and checks the error it raises:
// exactly "<file>:<line>: <key>: <detail>".
inline void expect_error(const std::string& yaml, int line, const std::string& key,
                  const std::string& detail) {
  TempDir dir;
  std::string file = dir.write("fleet.yaml", yaml);
  ConfigError e = error_loading(file);
  CHECK(e.file() == file);
  CHECK(e.line() == line);
  CHECK(e.key() == key);
  CHECK(e.detail() == detail);
  std::string where = file + ":" + std::to_string(line) + ": ";
  CHECK(std::string(e.what()) == where + (key.empty() ? "" : key + ": ") + detail);
}

// Everything that does not depend on where the config came from.
// The default workers section once io and cpu have taken python.* (which
// depends on where the file is).
inline WorkersConfig default_workers(const FleetConfig& c) {
  WorkersConfig w;
  for (PoolConfig* p : {&w.io, &w.cpu}) {
    p->script_roots = c.python.script_roots;
    p->venv = c.python.venv;
    p->path = c.python.path;
  }
  return w;
}

inline void check_default_values(const FleetConfig& c) {
  CHECK(c.broker == BrokerConfig{});
  CHECK(c.cache == CacheConfig{});
  CHECK(c.workers == default_workers(c));
  CHECK(c.logging == LoggingConfig{});
}


}  // namespace config_testing
