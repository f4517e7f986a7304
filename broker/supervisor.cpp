#include "broker/broker_log.h"
#include "broker/supervisor.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "common/exit_codes.h"
#include "broker/worker_board.h"
#include "common/log.h"

extern char** environ;

namespace zfleet::broker {

Supervisor::Supervisor(const config::FleetConfig& cfg, std::string worker_bin,
                       LocalWorkerBoard* board, std::string server_public_key)
    : cfg_(cfg), worker_bin_(std::move(worker_bin)), board_(board),
      server_public_key_(std::move(server_public_key)) {
  for (const config::PoolConfig* pool : cfg.workers.all()) add_pool(*pool);
}

void Supervisor::add_pool(const config::PoolConfig& pool) {
  for (int i = 0; i < pool.local_max(); ++i) {
    Child c;
    c.pool = &pool;
    c.slot = i;
    c.wanted = !pool.scales() || i < pool.min_processes;
    children_.push_back(std::move(c));
  }
}

std::vector<Supervisor::LocalProcess> Supervisor::processes_of(const config::PoolConfig& pool) const {
  std::vector<LocalProcess> v;
  for (const auto& c : children_) {
    if (c.pool == &pool && c.wanted) v.push_back({c.pid, c.retiring});
  }
  return v;
}

int Supervisor::wanted_total() const {
  return static_cast<int>(std::count_if(children_.begin(), children_.end(), [](const Child& c) { return c.wanted; }));
}

bool Supervisor::grow(const config::PoolConfig& pool, uint64_t now_us) {
  for (auto& c : children_) {
    if (c.pool != &pool || c.wanted) continue;
    c.wanted = true;
    c.retiring = false;
    c.policy = RestartPolicy{};
    spawn(c, now_us);
    publish();
    return true;
  }
  return false;
}

void Supervisor::set_retiring(pid_t pid, bool retiring) {
  for (auto& c : children_) {
    if (c.pid == pid && c.wanted) c.retiring = retiring;
  }
}

std::string Supervisor::local_endpoint(const std::string& bound) {
  std::string ep = bound;
  for (const char* wild : {"tcp://*:", "tcp://0.0.0.0:"}) {
    if (ep.starts_with(wild)) ep = "tcp://127.0.0.1:" + ep.substr(std::string_view(wild).size());
  }
  return ep;
}

void Supervisor::start_all() {
  uint64_t now = common::now_us();
  for (auto& c : children_) {
    if (c.wanted) spawn(c, now);
  }
  publish();
}

void Supervisor::publish() {
  if (!board_) return;
  std::vector<common::LocalWorkerStatus> v;
  for (const auto& c : children_) {
    if (!c.wanted && c.pid <= 0) continue;  // a scaling pool's unused slot
    v.push_back({c.pool->name, static_cast<uint32_t>(c.slot),
                 c.pid > 0 ? c.pid : 0, c.restarts, c.policy.crash_looping(), c.last_exit});
  }
  board_->publish(std::move(v));
}

// The command line of a local worker of c's pool: everything it needs
// comes from the broker's config, so it reads no file of its own.
std::vector<std::string> Supervisor::worker_args(const Child& c) const {
  const config::PoolConfig& p = *c.pool;
  std::vector<std::string> args = {
      worker_bin_,
      "--backend", local_endpoint(cfg_.broker.backend),
      "--status", local_endpoint(cfg_.broker.status),
      "--type", p.name,
      "--threads", std::to_string(p.threads),
      "--heartbeat-ms", std::to_string(cfg_.workers.heartbeat_ms),
      "--log-level", cfg_.logging.level,
      "--log-format", cfg_.logging.format,
      "--parent-pid", std::to_string(getpid()),
      "--kill-grace-ms", std::to_string(cfg_.workers.kill_grace_ms),
      "--max-message-bytes", std::to_string(cfg_.broker.max_message_bytes),
  };
  for (const auto& root : p.script_roots) args.insert(args.end(), {"--script-root", root});
  for (const auto& dir : p.path) args.insert(args.end(), {"--python-path", dir});
  if (!p.venv.empty()) args.insert(args.end(), {"--venv", p.venv});
  if (p.capture_output) args.emplace_back("--capture-output");
  if (p.max_output_bytes != config::PoolConfig{}.max_output_bytes)
    args.insert(args.end(), {"--max-output-bytes", std::to_string(p.max_output_bytes)});
  if (p.max_tasks_per_process) args.insert(args.end(), {"--max-tasks", std::to_string(p.max_tasks_per_process)});
  if (p.max_rss_mb) args.insert(args.end(), {"--max-rss-mb", std::to_string(p.max_rss_mb)});
  if (cfg_.security.enabled()) {  // the broker's public key is public: fine on a command line
    args.insert(args.end(), {"--key", cfg_.security.worker_key, "--server-public-key", server_public_key_});
  }
  return args;
}

bool Supervisor::spawn(Child& c, uint64_t now_us) {
  std::vector<std::string> args = worker_args(c);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);        // the broker blocks these; children must not
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, worker_bin_.c_str(), nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    c.pid = -1;
    const uint64_t delay = c.policy.spawn_failed();
    c.next_start_us = now_us + delay;
    log()->error("cannot start {}: {}; next try in {} ms", worker_bin_, strerror(rc),
                 delay / 1000);
    return false;
  }
  c.pid = pid;
  c.policy.started(now_us);
  log()->info("started local {} worker #{} (pid {})", c.pool->name, c.slot, pid);
  return true;
}

void Supervisor::on_exit(Child& c, int status, uint64_t now_us) {
  std::string how = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                        : "exited with code " + std::to_string(WEXITSTATUS(status));
  if (c.retiring) {
    // Drained for a scale-down: its slot is free for good (until a scale-up).
    log()->info("local {} worker #{} (pid {}) retired ({}): scale-down done", c.pool->name, c.slot, c.pid, how);
    c.pid = -1;
    c.wanted = false;
    c.retiring = false;
    c.last_exit = "retired";
    return;
  }
  const bool recycled = WIFEXITED(status) && WEXITSTATUS(status) == common::kExitRecycled;
  const uint64_t delay = recycled ? c.policy.recycled() : c.policy.exited(now_us);
  c.pid = -1;
  c.next_start_us = now_us + delay;
  c.last_exit = recycled ? "recycled" : how;
  const std::string_view type = c.pool->name;
  if (recycled) {
    log()->info("local {} worker #{} was recycled (max_tasks_per_process or max_rss_mb); restarting now",
                type, c.slot);
  } else if (c.policy.crash_looping()) {
    log()->error("local {} worker #{} is crash-looping ({} start-up deaths in a row, {}); "
                 "next try in {} ms", type, c.slot, c.policy.streak(), how, delay / 1000);
  } else if (delay > 0) {
    log()->warn("local {} worker #{} {} during start-up; restarting in {} ms", type, c.slot, how,
                delay / 1000);
  } else {
    log()->warn("local {} worker #{} {}; restarting now", type, c.slot, how);
  }
}

bool Supervisor::poll_child(Child& c, uint64_t now_us) {
  bool changed = false;
  if (c.pid > 0) {
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
      on_exit(c, status, now_us);
      changed = true;
    } else if (c.policy.running(now_us)) {
      log()->info("local {} worker #{} (pid {}) is up: no longer crash-looping",
                  c.pool->name, c.slot, c.pid);
      changed = true;
    }
  }
  if (c.pid <= 0 && c.wanted && now_us >= c.next_start_us) {
    if (spawn(c, now_us)) ++c.restarts;
    changed = true;
  }
  return changed;
}

void Supervisor::poll(uint64_t now_us) {
  bool changed = false;
  for (auto& c : children_) changed |= poll_child(c, now_us);
  if (changed) publish();
}

uint64_t Supervisor::next_due_us() const {
  uint64_t due = UINT64_MAX;
  for (const auto& c : children_) {
    if (c.pid > 0 || c.wanted) due = std::min(due, c.pid > 0 ? c.policy.up_at_us() : c.next_start_us);
  }
  return due;
}

std::size_t Supervisor::running() const {
  return std::count_if(children_.begin(), children_.end(), [](const Child& c) { return c.pid > 0; });
}

void Supervisor::stop_all(uint64_t grace_ms) {
  for (auto& c : children_) {
    if (c.pid > 0) kill(c.pid, SIGTERM);
  }
  uint64_t deadline = common::now_us() + grace_ms * 1000;
  bool killed = false;
  while (running() > 0) {
    for (auto& c : children_) {
      int status;
      if (c.pid > 0 && waitpid(c.pid, &status, WNOHANG) == c.pid) c.pid = -1;
    }
    if (!killed && common::now_us() > deadline) {
      for (auto& c : children_) {
        if (c.pid > 0) {
          log()->warn("local worker pid {} did not stop in time: killing it", c.pid);
          kill(c.pid, SIGKILL);
        }
      }
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace zfleet::broker
