// zfleet-worker: one worker process. Started by zfleet-broker for local
// workers, or by hand on another host (--help says how):
//   zfleet-worker -c fleet.yaml --type cpu
// Flags and the config file become options in worker/cli_options.h; the
// paths tasks need are checked before anything starts (start_checks.h).
// Exit codes: 0 stopped cleanly, 1 failed at start, 2 bad command line or
// configuration, a missing script root, python path or venv, or a venv of
// another Python version (common::kExitUsage), 70 a serving thread died
// (common/fail_loudly.h; restart it), 75 recycled itself because a task was
// stuck (restart it), 76 recycled itself because it burned CPU with no task
// (worker/idle_cpu.h; restart it), 77 recycled after max tasks or max RSS
// (worker/recycler.h; common::kExitRecycled). With --user (as root) it drops
// to that user before anything else runs (worker/privileges.h).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "common/exit_codes.h"
#include "common/log.h"
#include "config/config_loader.h"
#include "worker/cli_options.h"
#include "worker/exec/python_runtime.h"
#include "worker/exec/task_runner.h"
#include "worker/privileges.h"
#include "worker/start_checks.h"
#include "worker/worker.h"

namespace {

// Sent by the kernel when the broker that started this local worker dies
// (PR_SET_PDEATHSIG).
constexpr int kBrokerDied = SIGUSR1;

// The longest an orderly exit waits for Python's finalization (atexit
// handlers, __del__ of task code) before leaving without it.
constexpr std::chrono::milliseconds kFinalizeLimit{2000};
// How long the last log lines may take to be written at exit.
constexpr std::chrono::milliseconds kLogStopLimit{2000};

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
int serve(zfleet::worker::WorkerOptions opts, const zfleet::worker::WorkerPlan& plan,
          const sigset_t& sigs, spdlog::logger& log) {
  using namespace zfleet;
  worker::TaskRunner runner(plan.cfg.python.script_roots, plan.output);
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
      common::stop_logging(kLogStopLimit);
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
  worker::Flags f;
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
  worker::WorkerPlan plan;
  try {
    plan = worker::plan_worker(f);
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet-worker: " << e.what() << "\n";
    return common::kExitUsage;
  }
  if (auto problem = worker::check_start(plan.paths, worker::embedded_python_version())) {
    std::cerr << "zfleet-worker: " << *problem << "\n";
    return common::kExitUsage;
  }
  const config::FleetConfig& cfg = plan.cfg;
  common::set_log_level(cfg.logging.level);
  common::set_log_format(cfg.logging.format);
  auto log = common::make_logger("worker");

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, kBrokerDied);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread starts

  int code = 0;
  try {
    worker::PythonRuntime python(plan.python);
    code = serve(plan.worker, plan, sigs, *log);
    // Threads that tasks left running would keep Py_Finalize (and so this
    // process) waiting for ever: leave without it then.
    if (!python.finalize(kFinalizeLimit, code)) {
      log->info("stopped");
      common::stop_logging(kLogStopLimit);
      std::_Exit(code);
    }
  } catch (const std::exception& e) {
    std::cerr << "zfleet-worker: cannot start: " << e.what() << "\n";
    common::stop_logging(kLogStopLimit);
    std::_Exit(1);
  }
  log->info("stopped");
  // A stuck stderr must not keep a stopped worker alive (common/log.h).
  if (!common::stop_logging(kLogStopLimit)) std::_Exit(code);
  return code;
}
