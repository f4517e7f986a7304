// zfleet-worker: one worker process. Started by zfleet-broker for local
// workers, or by hand on another host:
//   zfleet-worker --backend tcp://broker:5556 --status tcp://broker:5557
//                 --type cpu --threads 1 --script-root /srv/tasks
// Exit codes: 0 stopped cleanly, 1 failed at start, 2 bad command line or
// configuration, 70 a serving thread died (common/fail_loudly.h; restart
// it), 75 recycled itself because a task was stuck (restart it), 76
// recycled itself because it burned CPU with no task (worker/idle_cpu.h;
// restart it). With --user (as root) it drops to that user before anything
// else runs (worker/privileges.h).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "common/curve_keys.h"
#include "common/log.h"
#include "common/pools.h"
#include "config/config_loader.h"
#include "worker/exec/python_runtime.h"
#include "worker/exec/task_runner.h"
#include "worker/privileges.h"
#include "worker/worker.h"

namespace {

// Sent by the kernel when the broker that started this local worker dies
// (PR_SET_PDEATHSIG).
constexpr int kBrokerDied = SIGUSR1;

// The longest an orderly exit waits for Python's finalization (atexit
// handlers, __del__ of task code) before leaving without it.
constexpr std::chrono::milliseconds kFinalizeLimit{2000};

struct Flags {
  std::string config, backend, status, type = "io", id, level, user;
  std::optional<int> threads, heartbeat_ms;
  std::optional<uint32_t> idle_cpu_percent;
  std::optional<uint64_t> idle_cpu_window_ms;
  std::optional<uint64_t> kill_grace_ms, max_message_bytes, drain_timeout_ms;
  std::vector<std::string> roots;
  long parent_pid = 0;
  std::string key, server_key, server_public_key;  // CURVE
};

// CURVE options from --key and --server-key (or --server-public-key, which
// the broker gives its local workers). Throws ConfigError on a bad file.
zfleet::common::CurveOptions curve_options(const Flags& f) {
  using zfleet::config::ConfigError;
  if (!f.server_public_key.empty()) {
    if (!zfleet::common::is_curve_key(f.server_public_key))
      throw ConfigError("--server-public-key", 0, "", "not a Z85 public key (40 characters)");
    auto own = zfleet::common::read_key_pair(f.key);
    if (f.key.empty() || !own) throw ConfigError("--key", 0, "", f.key.empty() ? "required" : own.error());
    return {own->secret_z85, own->public_z85, f.server_public_key, {}};
  }
  auto c = zfleet::common::client_curve(f.key, f.server_key);
  if (!c) throw ConfigError("--key", 0, "", c.error());
  return *c;
}

// The pool this worker serves, from the file; without a file any valid
// name (the broker refuses one it does not have), with python.*'s values.
zfleet::config::PoolConfig& pool_of(const Flags& f, zfleet::config::FleetConfig& cfg) {
  using namespace zfleet;
  if (!common::valid_pool_name(f.type))
    throw config::ConfigError("--type", 0, "", "a pool name is 1..64 letters, digits, '_' or '-'");
  for (config::PoolConfig* p : cfg.workers.all()) {
    if (p->name == f.type) return *p;
  }
  if (!f.config.empty()) {
    std::string names;
    for (const config::PoolConfig* p : cfg.workers.all()) names += (names.empty() ? "" : ", ") + p->name;
    throw config::ConfigError(f.config, 0, "workers.pools",
                              "no pool named '" + f.type + "' (--type; pools: " + names + ")");
  }
  auto& p = cfg.workers.pools.emplace_back(config::WorkersConfig::named_pool(f.type, 0, 1));
  p.script_roots = cfg.python.script_roots;
  p.venv = cfg.python.venv;
  p.path = cfg.python.path;
  return p;
}

// Applies the file (if any), then the flags, into worker options. On
// return cfg.python holds this worker's own Python settings (its pool's).
zfleet::worker::WorkerOptions build_options(const Flags& f, zfleet::config::FleetConfig& cfg) {
  using namespace zfleet;
  cfg = f.config.empty() ? config::default_config() : config::load_config_file(f.config, config::Role::peer);
  if (!f.backend.empty()) cfg.broker.backend = f.backend;
  if (!f.status.empty()) cfg.broker.status = f.status;
  if (f.heartbeat_ms) cfg.workers.heartbeat_ms = *f.heartbeat_ms;
  if (f.kill_grace_ms) cfg.workers.kill_grace_ms = *f.kill_grace_ms;
  if (f.max_message_bytes) cfg.broker.max_message_bytes = *f.max_message_bytes;
  if (!f.level.empty()) cfg.logging.level = f.level;
  auto& pool = pool_of(f, cfg);
  if (!f.roots.empty()) {
    pool.script_roots.clear();
    for (const auto& r : f.roots) pool.script_roots.push_back(config::resolve_path(r, "."));
  }
  if (f.threads) pool.threads = *f.threads;
  cfg.python.script_roots = pool.script_roots;
  cfg.python.venv = pool.venv;
  cfg.python.path = pool.path;
  cfg.broker.allow_insecure = true;  // which endpoints are exposed is the broker's decision
  config::validate(cfg, config::Role::peer);
  worker::WorkerOptions o;
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
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  o.id = !f.id.empty() ? f.id
                       : std::string(f.type) + "-" + host + "-" + std::to_string(getpid());
  return o;
}

void add_flags(CLI::App& app, Flags& f) {
  app.add_option("-c,--config", f.config, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_option("--backend", f.backend, "broker backend endpoint (broker.backend)");
  app.add_option("--status", f.status, "broker status endpoint (broker.status)");
  app.add_option("--type", f.type,
                 "the pool served: io, cpu or a pool of workers.pools on the broker (default io)");
  app.add_option("--threads", f.threads, "executor threads (workers.<pool>.threads)");
  app.add_option("--heartbeat-ms", f.heartbeat_ms, "heartbeat interval (workers.heartbeat_ms)");
  app.add_option("--script-root", f.roots, "script root (repeatable; python.script_roots)");
  app.add_option("--id", f.id, "worker id (default TYPE-HOST-PID)");
  app.add_option("--log-level", f.level, "logging.level");
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

// --user: 0 when there is nothing to do or the switch held, else the exit code.
int switch_user(const std::string& user) {
  if (user.empty()) return 0;
  auto dropped = zfleet::worker::drop_privileges(user);
  if (dropped.ok) return 0;
  std::cerr << "zfleet-worker: " << dropped.error << "\n";
  return dropped.exit_code;
}

// Runs the worker until SIGINT/SIGTERM (or its own stop), then stops it in
// order. Returns the process's exit code.
int serve(zfleet::worker::WorkerOptions opts, const zfleet::config::FleetConfig& cfg,
          const sigset_t& sigs, spdlog::logger& log) {
  using namespace zfleet;
  worker::TaskRunner runner(cfg.python.script_roots);
  // The I/O thread ended by itself (the broker's STOP, idle CPU): this
  // signal wakes the sigwaitinfo below so the rest stops as on SIGTERM.
  opts.on_self_stop = [] { kill(getpid(), SIGTERM); };
  int code = 0;
  {
    worker::Worker w(opts, runner);
    w.start();
    log.info("worker {} (pool {}, {} threads) connected to {}", opts.id, opts.pool,
             opts.threads, opts.backend);
    siginfo_t info{};
    int sig = -1;
    while (sig < 0) sig = sigwaitinfo(&sigs, &info);  // -1 only on EINTR
    if (sig == kBrokerDied) {
      log.warn("the broker that started this worker died: exiting now, running tasks dropped");
      log.flush();
      std::_Exit(0);
    }
    if (info.si_pid != getpid()) log.info("signal {}: finishing running tasks", sig);
    w.stop();
    code = w.exit_code();
  }
  runner.shutdown();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace zfleet;
  CLI::App app{"zfleet-worker: runs tasks for a zfleet broker"};
  Flags f;
  add_flags(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  // Before the interpreter, any thread and the death signal (a uid change
  // clears it): no task ever runs as root.
  if (int rc = switch_user(f.user); rc != 0) return rc;
  if (f.parent_pid > 0) {
    // A local worker must not outlive its broker, even one killed with -9,
    // nor finish its tasks for nobody: kBrokerDied makes it exit at once
    // (the broker's journal, if any, queues those tasks again).
    prctl(PR_SET_PDEATHSIG, kBrokerDied);
    if (getppid() != f.parent_pid) return 0;
  }
  config::FleetConfig cfg;
  worker::WorkerOptions opts;
  try {
    opts = build_options(f, cfg);
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet-worker: " << e.what() << "\n";
    return 2;
  }
  common::set_log_level(cfg.logging.level);
  auto log = common::make_logger("worker");

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, kBrokerDied);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread starts

  int code = 0;
  try {
    worker::PythonRuntime python(cfg.python.script_roots);
    code = serve(opts, cfg, sigs, *log);
    // Threads that tasks left running would keep Py_Finalize (and so this
    // process) waiting for ever: leave without it then.
    if (!python.finalize(kFinalizeLimit, code)) {
      log->info("stopped");
      log->flush();
      std::_Exit(code);
    }
  } catch (const std::exception& e) {
    std::cerr << "zfleet-worker: cannot start: " << e.what() << "\n";
    return 1;
  }
  log->info("stopped");
  return code;
}
