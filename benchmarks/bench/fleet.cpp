#include "benchmarks/bench/fleet.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "benchmarks/bench/load_client.h"
#include "common/clock.h"

namespace zfleet::bench {
namespace fs = std::filesystem;
namespace {

constexpr int kStartAttempts = 3;
constexpr uint64_t kReadyTimeoutUs = 30'000'000;
constexpr uint64_t kDrainMs = 2000;                  // broker.drain_timeout_ms of the fleet
constexpr uint64_t kStopTimeoutUs = (kDrainMs + 10'000) * 1000;

// Free loopback ports, all held open while picking so they differ. Another
// process may still take one before the broker binds it: start_once() then
// fails and the constructor retries with fresh ports.
std::vector<int> free_ports(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      if (fd >= 0) close(fd);
      break;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) close(fd);
  if (static_cast<int>(ports.size()) != n) throw std::runtime_error("cannot find free ports");
  return ports;
}

std::string yaml_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string default_broker_bin() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "zfleet-broker" : (self.parent_path() / "zfleet-broker").string();
}

// The `workers` line of a fleet with one named pool (FleetSpec::pool).
std::string pool_workers_yaml(const PoolSpec& p) {
  std::string keys = "threads: " + std::to_string(p.threads);
  if (p.adaptive()) {
    keys += ", min_processes: " + std::to_string(p.min_processes) +
            ", max_processes: " + std::to_string(p.max_processes) +
            ", scale_up_after_ms: " + std::to_string(p.scale_up_after_ms) +
            ", scale_down_after_ms: " + std::to_string(p.scale_down_after_ms) +
            ", cooldown_ms: " + std::to_string(p.cooldown_ms);
  } else {
    keys += ", processes: " + std::to_string(p.processes);
  }
  return "workers: {heartbeat_ms: " + std::to_string(p.heartbeat_ms) +
         ", io: {processes: 0}, cpu: {processes: 0}, pools: {" + yaml_quoted(p.name) + ": {" + keys +
         "}}}\n";
}

}  // namespace

WorkerGroup parse_worker_group(const std::string& text, int default_threads) {
  WorkerGroup g;
  auto x = text.find('x');
  try {
    std::size_t used = 0;
    g.processes = std::stoi(text.substr(0, x), &used);
    if (used != (x == std::string::npos ? text.size() : x)) throw std::invalid_argument(text);
    g.threads = default_threads;
    if (x != std::string::npos) g.threads = std::stoi(text.substr(x + 1));
  } catch (const std::logic_error&) {
    throw std::invalid_argument("expected PROCESSES or PROCESSESxTHREADS, got '" + text + "'");
  }
  if (g.processes < 0 || g.threads < 1)
    throw std::invalid_argument("processes must be >= 0 and threads >= 1, got '" + text + "'");
  return g;
}

SpawnedFleet::SpawnedFleet(const FleetSpec& spec)
    : broker_bin_(spec.broker_bin.empty() ? default_broker_bin() : spec.broker_bin) {
  if (access(broker_bin_.c_str(), X_OK) != 0)
    throw std::runtime_error("cannot run " + broker_bin_ + " (build the zfleet-broker target)");
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/zfleet-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot make a temporary directory in " + tmpl);
  dir_ = tmpl;
  watch_signals();
  config_path_ = dir_ + "/fleet.yaml";
  log_path_ = dir_ + "/broker.log";
  try {
    for (int attempt = 1;; ++attempt) {
      if (start_once(spec)) break;
      if (attempt == kStartAttempts || exit_code_ != 1)
        throw std::runtime_error("zfleet-broker exited at start (code " +
                                 std::to_string(exit_code_) + "):\n" + log_tail());
    }
    wait_ready(spec.pool ? spec.pool->starting_processes() : spec.io.processes + spec.cpu.processes);
  } catch (...) {
    stop();
    unwatch_signals();
    fs::remove_all(dir_);
    throw;
  }
}

SpawnedFleet::~SpawnedFleet() {
  stop();
  unwatch_signals();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void SpawnedFleet::watch_signals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, &old_mask_);
  int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  watcher_ = std::thread([this, sfd] {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    while (poll(fds, 2, -1) < 0) {
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      (void)!read(sfd, &si, sizeof si);
      std::fprintf(stderr, "\nzfleet-bench: %s: stopping the fleet\n", strsignal(si.ssi_signo));
      stop();
      std::error_code ec;
      fs::remove_all(dir_, ec);
      _exit(128 + static_cast<int>(si.ssi_signo));
    }
    close(sfd);
  });
}

void SpawnedFleet::unwatch_signals() {
  if (!watcher_.joinable()) return;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  watcher_.join();
  close(wake_fd_);
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void SpawnedFleet::write_config(const FleetSpec& spec) {
  auto ports = free_ports(4);
  auto ep = [&](int i) { return "tcp://127.0.0.1:" + std::to_string(ports[i]); };
  frontend_ = ep(0);
  results_ = ep(1);
  fs::path scripts = fs::absolute(spec.scripts_dir.empty() ? "." : spec.scripts_dir);
  std::ofstream f(config_path_);
  f << "broker: {frontend: " << ep(0) << ", results: " << ep(1) << ", backend: " << ep(2)
    << ", status: " << ep(3) << ", drain_timeout_ms: " << kDrainMs;
  if (spec.pool) {
    f << "}\n" << pool_workers_yaml(*spec.pool);
  } else if (!spec.defaults) {
    f << ", queue_threads: " << spec.queue_threads << ", result_threads: " << spec.result_threads << "}\n"
      << "workers: {io: {processes: " << spec.io.processes << ", threads: " << spec.io.threads
      << "}, cpu: {processes: " << spec.cpu.processes << ", threads: " << spec.cpu.threads << "}}\n";
  } else {
    f << "}\n";
  }
  f << "python: {script_roots: [" << yaml_quoted(scripts.lexically_normal().string()) << "]}\n"
    << "logging: {level: warn}\n";
  if (!f.flush()) throw std::runtime_error("cannot write " + config_path_);
}

bool SpawnedFleet::start_once(const FleetSpec& spec) {
  write_config(spec);
  std::vector<std::string> args = {broker_bin_, "--config", config_path_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {  // only async-signal-safe calls until exec
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);  // Ctrl-C goes to the bench, which stops the broker itself
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = open("/dev/null", O_RDONLY);
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) dup2(in, STDIN_FILENO);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  // A port taken between picking and binding makes the broker exit with 1
  // within moments; give it that moment before declaring the start good.
  for (int i = 0; i < 20; ++i) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void SpawnedFleet::wait_ready(int workers) {
  zmq::context_t ctx(1);
  LoadClient probe(ctx, frontend_, results_);
  uint64_t deadline = common::now_us() + kReadyTimeoutUs;
  std::size_t seen = 0;
  while (common::now_us() < deadline) {
    int st = 0;
    pid_t pid = pid_;
    if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid) {
      pid_ = -1;
      throw std::runtime_error("zfleet-broker exited during start:\n" + log_tail());
    }
    try {
      seen = probe.alive_workers(std::chrono::milliseconds(500));
      if (seen >= static_cast<std::size_t>(workers)) return;
    } catch (const std::runtime_error&) {
      // not bound yet: ask again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("fleet not ready after 30 s: " + std::to_string(seen) + " of " +
                           std::to_string(workers) + " workers alive\n" + log_tail());
}

int SpawnedFleet::stop() {
  pid_t pid = pid_.exchange(-1);  // one caller stops it (main thread or signal watcher)
  if (pid <= 0) return exit_code_;
  kill(pid, SIGTERM);
  uint64_t deadline = common::now_us() + kStopTimeoutUs;
  int st = 0;
  pid_t got = 0;
  while ((got = waitpid(pid, &st, WNOHANG)) == 0 && common::now_us() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (got == 0) {
    std::fprintf(stderr, "zfleet-bench: broker %d did not stop in time: SIGKILL\n", pid);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  exit_code_ = got > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return exit_code_;
}

std::string SpawnedFleet::log_tail() const {
  std::ifstream f(log_path_);
  std::deque<std::string> lines;
  for (std::string line; std::getline(f, line);) {
    lines.push_back(line);
    if (lines.size() > 20) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "  | " + l + "\n";
  return out.empty() ? "  (empty broker log)\n" : out;
}

}  // namespace zfleet::bench
