#include "worker/cli_options.h"

#include <unistd.h>

#include "common/curve_keys.h"
#include "common/pools.h"
#include "config/config_loader.h"

namespace zfleet::worker {
namespace {

using config::ConfigError;

// Shown after the flags by --help.
constexpr const char* kFooter = R"(
Local workers are started by zfleet-broker with the flags of their pool.
To run a worker on another host, copy the fleet's config file there and
point it at the broker:

  zfleet-worker -c fleet.yaml --type io

broker.backend and broker.status in the file (or --backend/--status) must
be the broker's address as this host reaches it, e.g. tcp://10.0.0.5:5556
and tcp://10.0.0.5:5557 (the broker must bind them on an address other
hosts can reach, which takes a security section or broker.allow_insecure).
--type names the pool served: io, cpu or one of workers.pools;
the broker must have that pool, or it refuses the worker (exit 2). The
pool's keys (threads, script_roots, venv, path, capture_output,
max_output_bytes, max_tasks_per_process, max_rss_mb) come from the file;
flags override them. Its script roots, venv and python path must exist on
this host (else exit 2, naming the path). When the broker has a security
section, add --key worker.key (a pair from `zfleet keygen`, whose .pub is
in security.workers) and --server-key broker.pub. Such a worker is not
restarted by anyone: run it under systemd or similar. Without -c, the
defaults apply (script root ./tasks, broker on 127.0.0.1).

Exit codes: 0 stopped cleanly; 1 failed at start; 2 bad command line or
configuration, unknown pool, missing script root, python path or venv, or a
venv of another Python version; 70 a serving thread died; 75 recycled because
a task was stuck; 76 recycled because it burned CPU with no task; 77 recycled
after --max-tasks tasks or past --max-rss-mb (restart it).
)";

// CURVE options from --key and --server-key (or --server-public-key, which
// the broker gives its local workers). Throws ConfigError on a bad file.
common::CurveOptions curve_options(const Flags& f) {
  if (!f.server_public_key.empty()) {
    if (!common::is_curve_key(f.server_public_key))
      throw ConfigError("--server-public-key", 0, "", "not a Z85 public key (40 characters)");
    auto own = common::read_key_pair(f.key);
    if (f.key.empty() || !own) throw ConfigError("--key", 0, "", f.key.empty() ? "required" : own.error());
    return {own->secret_z85, own->public_z85, f.server_public_key, {}};
  }
  auto c = common::client_curve(f.key, f.server_key);
  if (!c) throw ConfigError("--key", 0, "", c.error());
  return *c;
}

// The pool this worker serves, from the file; without a file any valid
// name (the broker refuses one it does not have), with python.*'s values.
config::PoolConfig& pool_of(const Flags& f, config::FleetConfig& cfg) {
  if (!common::valid_pool_name(f.type))
    throw ConfigError("--type", 0, "", zfleet::common::kPoolNameRule);
  for (config::PoolConfig* p : cfg.workers.all()) {
    if (p->name == f.type) return *p;
  }
  if (!f.config.empty()) {
    std::string names;
    for (const config::PoolConfig* p : cfg.workers.all()) names += (names.empty() ? "" : ", ") + p->name;
    throw ConfigError(f.config, 0, "workers.pools",
                      "no pool named '" + f.type + "' (--type; pools: " + names + ")");
  }
  auto& p = cfg.workers.pools.emplace_back(config::WorkersConfig::named_pool(f.type, 0, 1));
  p.script_roots = cfg.python.script_roots;
  p.venv = cfg.python.venv;
  p.path = cfg.python.path;
  return p;
}

std::vector<std::string> absolute(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(config::resolve_path(p, "."));
  return out;
}

// Where a pool setting came from, for start-check messages: the flag, the
// file's keys, or the built-in default.
std::string origin(const Flags& f, bool from_flag, const char* flag, const config::PoolConfig& pool,
                   const std::string& own_key, const char* fallback) {
  if (from_flag) return flag;
  if (!f.config.empty()) {
    return config::pool_key(pool) + "." + own_key + " or python." + own_key + " in " + f.config +
           "; or " + flag;
  }
  return fallback;
}

// Applies the flags over the pool's Python settings and records where each
// came from.
void apply_python_flags(const Flags& f, config::PoolConfig& pool, StartPaths& paths) {
  if (!f.roots.empty()) pool.script_roots = absolute(f.roots);
  if (!f.python_path.empty()) pool.path = absolute(f.python_path);
  if (f.venv) pool.venv = f.venv->empty() ? "" : config::resolve_path(*f.venv, ".");
  paths.script_roots = pool.script_roots;
  paths.python_path = pool.path;
  paths.venv = pool.venv;
  paths.script_roots_from = origin(f, !f.roots.empty(), "--script-root", pool, "script_roots",
                                   "the default script root: tasks in the current folder; set "
                                   "--script-root");
  paths.python_path_from = origin(f, !f.python_path.empty(), "--python-path", pool, "path", "--python-path");
  paths.venv_from = origin(f, f.venv.has_value(), "--venv", pool, "venv", "--venv");
}

// The flags of a pool's Python: where scripts are, the venv and paths, task
// output, recycling.
void add_pool_flags(CLI::App& app, Flags& f) {
  app.add_option("--script-root", f.roots,
                 "folder task scripts are looked up in (repeatable; workers.<pool>.script_roots, "
                 "python.script_roots; default: tasks in the current folder); must exist");
  app.add_option("--python-path", f.python_path,
                 "folder put on sys.path ahead of site-packages (repeatable; workers.<pool>.path, "
                 "python.path); must exist");
  app.add_option("--venv", f.venv,
                 "virtualenv tasks run in, made by /usr/bin/python3 -m venv (workers.<pool>.venv, "
                 "python.venv); must be of the worker's Python version");
  app.add_flag("--capture-output", f.capture_output,
               "return every task's print/stdout/stderr/logging output with its result, not only "
               "of tasks submitted with \"output\": true (workers.<pool>.capture_output)");
  app.add_option("--max-output-bytes", f.max_output_bytes,
                 "output kept per task for its result; the rest is cut and marked "
                 "(workers.<pool>.max_output_bytes, default 65536)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  app.add_option("--max-tasks", f.max_tasks,
                 "recycle (exit 77, to be restarted) after starting this many tasks: unstarted "
                 "ones go back to the broker, running ones finish; 0 = never "
                 "(workers.<pool>.max_tasks_per_process)");
  app.add_option("--max-rss-mb", f.max_rss_mb,
                 "recycle the same way once resident memory passes this many MiB; 0 = never "
                 "(workers.<pool>.max_rss_mb)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
}

}  // namespace

WorkerPlan plan_worker(const Flags& f) {
  WorkerPlan plan;
  config::FleetConfig& cfg = plan.cfg;
  cfg = f.config.empty() ? config::default_config() : config::load_config_file(f.config, config::Role::peer);
  if (!f.backend.empty()) cfg.broker.backend = f.backend;
  if (!f.status.empty()) cfg.broker.status = f.status;
  if (f.heartbeat_ms) cfg.workers.heartbeat_ms = *f.heartbeat_ms;
  if (f.kill_grace_ms) cfg.workers.kill_grace_ms = *f.kill_grace_ms;
  if (f.max_message_bytes) cfg.broker.max_message_bytes = *f.max_message_bytes;
  if (!f.level.empty()) cfg.logging.level = f.level;
  if (!f.log_format.empty()) cfg.logging.format = f.log_format;
  auto& pool = pool_of(f, cfg);
  apply_python_flags(f, pool, plan.paths);
  if (f.threads) pool.threads = *f.threads;
  if (f.capture_output) pool.capture_output = true;
  if (f.max_output_bytes) pool.max_output_bytes = *f.max_output_bytes;
  if (f.max_tasks) pool.max_tasks_per_process = *f.max_tasks;
  if (f.max_rss_mb) pool.max_rss_mb = *f.max_rss_mb;
  cfg.python.script_roots = pool.script_roots;
  cfg.python.venv = pool.venv;
  cfg.python.path = pool.path;
  cfg.broker.allow_insecure = true;  // which endpoints are exposed is the broker's decision
  config::validate(cfg, config::Role::peer);
  plan.python = PythonOptions{pool.script_roots, pool.path, pool.venv, cfg.logging.level};
  plan.output = OutputPolicy{pool.capture_output, pool.max_output_bytes};
  WorkerOptions& o = plan.worker;
  o.curve = curve_options(f);
  o.pool = pool.name;
  o.threads = pool.threads;
  o.backend = cfg.broker.backend;
  o.status = cfg.broker.status;
  o.heartbeat_ms = cfg.workers.heartbeat_ms;
  o.kill_grace_ms = cfg.workers.kill_grace_ms;
  o.max_result_bytes = cfg.broker.max_message_bytes;
  if (f.drain_timeout_ms) o.drain_timeout_ms = *f.drain_timeout_ms;
  if (f.idle_cpu_percent) o.idle_cpu_percent = *f.idle_cpu_percent;
  if (f.idle_cpu_window_ms) o.idle_cpu_window_ms = *f.idle_cpu_window_ms;
  o.parent_pid = f.parent_pid;
  o.max_tasks = pool.max_tasks_per_process;
  o.max_rss_mb = pool.max_rss_mb;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  o.id = !f.id.empty() ? f.id : std::string(f.type) + "-" + host + "-" + std::to_string(getpid());
  return plan;
}

void add_flags(CLI::App& app, Flags& f) {
  app.footer(kFooter);
  app.add_option("-c,--config", f.config, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_option("--backend", f.backend, "broker backend endpoint (broker.backend)");
  app.add_option("--status", f.status, "broker status endpoint (broker.status)");
  app.add_option("--type", f.type,
                 "the pool served: io, cpu or a pool of workers.pools on the broker (default io)");
  app.add_option("--threads", f.threads, "executor threads (workers.<pool>.threads)");
  app.add_option("--heartbeat-ms", f.heartbeat_ms, "heartbeat interval (workers.heartbeat_ms)");
  add_pool_flags(app, f);
  app.add_option("--id", f.id, "worker id (default TYPE-HOST-PID)");
  app.add_option("--log-level", f.level, "logging.level: trace debug info warn error critical off");
  app.add_option("--log-format", f.log_format, "logging.format: text, or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--key", f.key, "own CURVE key pair (.key from `zfleet keygen`), allowed in security.workers");
  app.add_option("--server-key", f.server_key, "the broker's CURVE public key (.pub)");
  app.add_option("--server-public-key", f.server_public_key,
                 "the broker's CURVE public key itself (Z85; used by the broker for its local workers)");
  app.add_option("--parent-pid", f.parent_pid, "exit when this process (the broker) dies");
  app.add_option("--max-message-bytes", f.max_message_bytes,
                 "largest result sent to the broker (broker.max_message_bytes)");
  app.add_option("--kill-grace-ms", f.kill_grace_ms,
                 "exit (code 75, to be restarted) when a task is stuck this long past its "
                 "timeout or its cancel; 0 = never (workers.kill_grace_ms)");
  app.add_option("--drain-timeout-ms", f.drain_timeout_ms,
                 "on SIGTERM: longest wait for the broker's BYE_ACK and the held tasks "
                 "(default 30000)");
  app.add_option("--user", f.user,
                 "when started as root, run as this user (dropped before Python starts)");
  app.add_option("--idle-cpu-percent", f.idle_cpu_percent,
                 "recycle (exit 76) when, with no task, the worker uses more than this % of a "
                 "core; 0 = never (default 50)");
  app.add_option("--idle-cpu-window-ms", f.idle_cpu_window_ms,
                 "the idle time that CPU use is measured over (default 2000)")
      ->check(CLI::Range(uint64_t{100}, uint64_t{3'600'000}));
}

}  // namespace zfleet::worker
