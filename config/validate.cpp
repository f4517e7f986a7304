// Range and consistency checks of a FleetConfig, and ConfigError itself.
// The same checks run inside the loader (with line numbers) and in
// validate() (after command-line overrides, line 0).

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_loader.h"
#include "config/schema.h"

namespace zfleet::config {

namespace {

std::string format_what(const std::string& file, int line, const std::string& key,
                        const std::string& detail) {
  // A FleetConfig built by hand may have no source; still say what it is.
  std::string out = file.empty() ? std::string("<config>") : file;
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on
  // `out += ":" + std::to_string(line)`.
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += ": ";
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += detail;
  return out;
}

constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
constexpr std::array<std::string_view, 3> kSchemes = {"tcp://", "ipc://", "inproc://"};

// Empty when `endpoint` is acceptable to zmq bind/connect as far as we can
// tell without trying; the reason otherwise.
std::string endpoint_problem(const std::string& endpoint) {
  for (std::string_view scheme : kSchemes) {
    if (std::string_view(endpoint).substr(0, scheme.size()) != scheme) continue;
    if (endpoint.size() == scheme.size()) {
      return "needs an address after " + std::string(scheme) + " (got \"" + endpoint + "\")";
    }
    return {};
  }
  return "must start with tcp://, ipc:// or inproc:// (got \"" + endpoint + "\")";
}

void check_numbers(const FleetConfig& cfg, const schema::LineOf& line_of) {
  schema::for_each_number(cfg, [&](std::string_view key, const auto& value, schema::Bounds b) {
    std::string k(key);
    if (std::cmp_less(value, b.min)) {
      throw ConfigError(
          cfg.source, line_of(key), k,
          "must be >= " + std::to_string(b.min) + " (got " + std::to_string(value) + ")");
    }
    if (std::cmp_greater(value, b.max)) {
      throw ConfigError(
          cfg.source, line_of(key), k,
          "must be <= " + std::to_string(b.max) + " (got " + std::to_string(value) + ")");
    }
  });
}

// Each endpoint well-formed, and no two equal: binding the same endpoint
// twice fails later with a less helpful "Address already in use".
void check_endpoints(const FleetConfig& cfg, const schema::LineOf& line_of) {
  std::vector<std::pair<std::string_view, const std::string*>> seen;
  schema::for_each_endpoint(cfg, [&](std::string_view key, const std::string& value) {
    std::string problem = endpoint_problem(value);
    if (!problem.empty()) throw ConfigError(cfg.source, line_of(key), std::string(key), problem);
    for (const auto& [other_key, other] : seen) {
      if (*other == value) {
        throw ConfigError(cfg.source, line_of(key), std::string(key),
                          "same endpoint as " + std::string(other_key) + " (\"" + value + "\")");
      }
    }
    seen.emplace_back(key, &value);
  });
}

void check_level(const FleetConfig& cfg, const schema::LineOf& line_of) {
  for (std::string_view level : kLevels) {
    if (cfg.logging.level == level) return;
  }
  throw ConfigError(cfg.source, line_of("logging.level"), "logging.level",
                    "must be one of trace, debug, info, warn, error, critical, off (got \"" +
                        cfg.logging.level + "\")");
}

void check_journal(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const std::string& fsync = cfg.broker.journal.fsync;
  if (fsync != "always" && fsync != "every_ms" && fsync != "never") {
    throw ConfigError(cfg.source, line_of("broker.journal.fsync"), "broker.journal.fsync",
                      "must be one of always, every_ms, never (got \"" + fsync + "\")");
  }
}

void check_script_roots(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const auto& roots = cfg.python.script_roots;
  for (size_t i = 0; i < roots.size(); ++i) {
    if (roots[i].empty()) {
      std::string key(schema::kScriptRootsKey);
      throw ConfigError(cfg.source, line_of(key), key,
                        "entry " + std::to_string(i + 1) + " is an empty path");
    }
  }
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string key, std::string detail)
    : std::runtime_error(format_what(file, line, key, detail)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)),
      detail_(std::move(detail)) {}

void schema::check_values(const FleetConfig& cfg, const LineOf& line_of) {
  check_numbers(cfg, line_of);
  check_endpoints(cfg, line_of);
  check_level(cfg, line_of);
  check_journal(cfg, line_of);
  check_script_roots(cfg, line_of);
}

void validate(const FleetConfig& cfg) {
  schema::check_values(cfg, [](std::string_view) { return 0; });
}

}  // namespace zfleet::config
