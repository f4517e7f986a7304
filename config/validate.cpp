// Range and consistency checks of a FleetConfig, and ConfigError itself.
// The same checks run inside the loader (with line numbers) and in
// validate() (after command-line overrides, line 0).

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/curve_keys.h"
#include "common/host_port.h"
#include "common/pools.h"
#include "config/config_loader.h"
#include "config/venv.h"
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

void check_logging(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const std::string& format = cfg.logging.format;
  if (format != "text" && format != "json") {
    throw ConfigError(cfg.source, line_of("logging.format"), "logging.format",
                      "must be text or json (got \"" + format + "\")");
  }
  for (std::string_view level : kLevels) {
    if (cfg.logging.level == level) return;
  }
  throw ConfigError(cfg.source, line_of("logging.level"), "logging.level",
                    "must be one of trace, debug, info, warn, error, critical, off (got \"" +
                        cfg.logging.level + "\")");
}

void check_metrics(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const std::string& m = cfg.broker.metrics;
  std::string host;
  int port = 0;
  if (m.empty() || common::split_host_port(m, host, port)) return;
  throw ConfigError(cfg.source, line_of("broker.metrics"), "broker.metrics",
                    "must be HOST:PORT with a port in 1..65535, e.g. 127.0.0.1:9105 (got \"" + m + "\")");
}

void check_journal(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const std::string& fsync = cfg.broker.journal.fsync;
  if (fsync != "always" && fsync != "every_ms" && fsync != "never") {
    throw ConfigError(cfg.source, line_of("broker.journal.fsync"), "broker.journal.fsync",
                      "must be one of always, every_ms, never (got \"" + fsync + "\")");
  }
}

// Without CURVE anyone who reaches a port can submit code, read results or
// pose as a worker: such endpoints stay on this machine unless the operator
// says otherwise in so many words.
bool loopback(const std::string& endpoint) {
  std::string_view e = endpoint;
  if (e.substr(0, 6) != "tcp://") return true;  // ipc:// and inproc:// stay on the host
  e.remove_prefix(6);
  if (auto semi = e.find(';'); semi != std::string_view::npos) e = e.substr(semi + 1);  // "src;dst"
  return e.substr(0, 4) == "127." || e.substr(0, 10) == "localhost:" || e.substr(0, 6) == "[::1]:";
}

void check_exposure(const FleetConfig& cfg, const schema::LineOf& line_of) {
  if (cfg.security.enabled() || cfg.broker.allow_insecure) return;
  schema::for_each_endpoint(cfg, [&](std::string_view key, const std::string& value) {
    if (loopback(value)) return;
    throw ConfigError(cfg.source, line_of(key), std::string(key),
                      "\"" + value + "\" is not a loopback address, and without a `security` section "
                      "anyone who reaches it could run code; add `security` (CURVE keys, docs/security.md) "
                      "or set broker.allow_insecure: true");
  });
}

// Every key file of `security` is read now, so a typo or a wrong kind of
// file stops start-up with the key's line, not a handshake that never ends.
void check_security(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const SecurityConfig& s = cfg.security;
  auto fail = [&](std::string_view key, const std::string& detail) {
    throw ConfigError(cfg.source, line_of(key), std::string(key), detail);
  };
  bool any = !s.worker_key.empty() || !s.producers.empty() || !s.clients.empty() || !s.workers.empty();
  if (!s.enabled()) {
    if (!any) return;
    int line = 0;  // the key is missing: point at the section's first key instead
    for (const char* k : {"security.producers", "security.clients", "security.workers", "security.worker_key"}) {
      if (int l = line_of(k); l > 0 && (line == 0 || l < line)) line = l;
    }
    throw ConfigError(cfg.source, line, "security.secret_key",
                      "required in a `security` section (the broker's .key, from zfleet keygen)");
  }
  if (auto keys = common::read_key_pair(s.secret_key); !keys) fail("security.secret_key", keys.error());
  std::vector<std::string> workers;
  for (auto [key, list] : {std::pair{"security.producers", &s.producers}, std::pair{"security.clients", &s.clients},
                           std::pair{"security.workers", &s.workers}}) {
    if (list->empty()) fail(key, "needs at least one .pub file or folder of them (nobody could connect)");
    auto allowed = common::read_allowed_keys(*list);
    if (!allowed) fail(key, allowed.error());
    if (list == &s.workers) workers = std::move(*allowed);
  }
  bool local = false;
  for (const PoolConfig* p : cfg.workers.all()) local = local || p->local_max() > 0;
  if (s.worker_key.empty()) {
    if (local) fail("security.worker_key", "required when the broker starts local workers (workers.*.processes > 0)");
    return;
  }
  auto own = common::read_key_pair(s.worker_key);
  if (!own) fail("security.worker_key", own.error());
  if (std::find(workers.begin(), workers.end(), own->public_z85) == workers.end()) {
    fail("security.worker_key", "its public key is not among security.workers: local workers could not register");
  }
}

// The backend refuses a TASK it cannot queue for a worker (over
// worker_hwm) by declaring that worker lost, so an honest worker's share
// must always fit: every task it may hold, and a CANCEL for each.
void check_worker_hwm(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const uint64_t need = 2 * (uint64_t(cfg.workers.max_threads) + uint64_t(cfg.workers.prefetch));
  if (uint64_t(cfg.broker.worker_hwm) >= need) return;
  throw ConfigError(cfg.source, line_of("broker.worker_hwm"), "broker.worker_hwm",
                    "must be >= 2 x (workers.max_threads + workers.prefetch) = " + std::to_string(need) +
                        " (got " + std::to_string(cfg.broker.worker_hwm) + ")");
}

void check_path_list(const FleetConfig& cfg, const schema::LineOf& line_of, const std::string& key,
                     const std::vector<std::string>& paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].empty())
      throw ConfigError(cfg.source, line_of(key), key, "entry " + std::to_string(i + 1) + " is an empty path");
  }
}

// Names as the loader takes them (a FleetConfig built by hand skips it).
void check_pools(const FleetConfig& cfg, const schema::LineOf& line_of) {
  const std::string key(schema::kPoolsKey);
  if (cfg.workers.pools.size() + 2 > static_cast<std::size_t>(common::kMaxPools))
    throw ConfigError(cfg.source, line_of(key), key, "at most " + std::to_string(common::kMaxPools - 2) + " pools");
  std::vector<std::string_view> seen;
  for (const PoolConfig* p : cfg.workers.all()) {
    if (!common::valid_pool_name(p->name) || std::find(seen.begin(), seen.end(), p->name) != seen.end())
      throw ConfigError(cfg.source, line_of(key), key, "bad or repeated pool name \"" + p->name + "\"");
    seen.push_back(p->name);
  }
  check_path_list(cfg, line_of, std::string(schema::kScriptRootsKey), cfg.python.script_roots);
  check_path_list(cfg, line_of, "python.path", cfg.python.path);
  for (const PoolConfig* p : cfg.workers.all()) {
    check_path_list(cfg, line_of, pool_key(*p) + ".script_roots", p->script_roots);
    check_path_list(cfg, line_of, pool_key(*p) + ".path", p->path);
  }
}

// The broker's local workers would refuse to start (and be restarted for
// ever) without them: say so once, at the key, before anything starts.
void check_local_python(const FleetConfig& cfg, const schema::LineOf& line_of) {
  namespace fs = std::filesystem;
  auto where = [&](const PoolConfig& p, const std::string& own) {
    std::string k = pool_key(p) + "." + own;
    return line_of(k) > 0 ? k : (own == "script_roots" ? std::string(schema::kScriptRootsKey) : "python." + own);
  };
  for (const PoolConfig* p : cfg.workers.all()) {
    if (p->local_max() == 0) continue;
    for (const std::string& root : p->script_roots) {
      std::error_code ec;
      if (fs::is_directory(root, ec)) continue;
      std::string k = where(*p, "script_roots");
      throw ConfigError(cfg.source, line_of(k), k, "script root " + root + " (pool " + p->name + ") is not a folder");
    }
    std::error_code ec;
    if (!p->venv.empty() && !fs::is_regular_file(fs::path(p->venv) / "pyvenv.cfg", ec)) {
      std::string k = where(*p, "venv");
      throw ConfigError(cfg.source, line_of(k), k, p->venv + " (pool " + p->name + ") is not a venv: no pyvenv.cfg");
    }
    if (!p->venv.empty()) {
      if (auto why = check_venv(p->venv, built_python_version())) {
        std::string k = where(*p, "venv");
        throw ConfigError(cfg.source, line_of(k), k, *why + " (pool " + p->name + ")");
      }
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

void schema::check_values(const FleetConfig& cfg, const LineOf& line_of, Role role) {
  check_numbers(cfg, line_of);
  check_pools(cfg, line_of);
  check_scaling(cfg, line_of);
  check_endpoints(cfg, line_of);
  check_logging(cfg, line_of);
  check_metrics(cfg, line_of);
  check_journal(cfg, line_of);
  check_worker_hwm(cfg, line_of);
  check_exposure(cfg, line_of);
  if (role == Role::peer) return;
  check_security(cfg, line_of);
  check_local_python(cfg, line_of);
}

void validate(const FleetConfig& cfg, Role role) {
  schema::check_values(cfg, [](std::string_view) { return 0; }, role);
}

}  // namespace zfleet::config
