// zfleet-broker: parse the command line, load the configuration, run.
// Exit codes: 0 stopped cleanly, 1 failed at start (e.g. an endpoint in
// use), 2 bad command line or configuration.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "broker/broker.h"
#include "common/log.h"
#include "config/config_loader.h"

namespace {

std::string default_worker_bin() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "zfleet-worker" : (self.parent_path() / "zfleet-worker").string();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace zfleet;
  CLI::App app{"zfleet-broker: routes tasks to the least-loaded worker"};
  std::string config_path, frontend, results, backend, status, level, log_format, metrics, worker_bin,
      journal, fsync;
  std::optional<int> io_procs, cpu_procs;
  app.add_option("-c,--config", config_path, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_option("--frontend", frontend, "override broker.frontend");
  app.add_option("--results", results, "override broker.results");
  app.add_option("--backend", backend, "override broker.backend");
  app.add_option("--status", status, "override broker.status");
  app.add_option("--io-processes", io_procs, "override workers.io.processes");
  app.add_option("--cpu-processes", cpu_procs, "override workers.cpu.processes");
  app.add_option("--log-level", level, "override logging.level: trace debug info warn error critical off");
  app.add_option("--log-format", log_format, "override logging.format: text, or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--metrics", metrics, "override broker.metrics: HOST:PORT serving Prometheus text on GET /metrics");
  app.add_option("--journal", journal, "override broker.journal.path (a folder): accepted tasks and results survive a crash");
  app.add_option("--journal-fsync", fsync, "override broker.journal.fsync")
      ->check(CLI::IsMember({"always", "every_ms", "never"}));
  app.add_option("--worker-bin", worker_bin, "zfleet-worker executable for local workers")
      ->default_str("next to zfleet-broker");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  config::FleetConfig cfg;
  try {
    cfg = config_path.empty() ? config::default_config()
                              : config::load_config_file(config_path, config::Role::broker);
    if (!frontend.empty()) cfg.broker.frontend = frontend;
    if (!results.empty()) cfg.broker.results = results;
    if (!backend.empty()) cfg.broker.backend = backend;
    if (!status.empty()) cfg.broker.status = status;
    if (io_procs) cfg.workers.io.processes = *io_procs;
    if (cpu_procs) cfg.workers.cpu.processes = *cpu_procs;
    if (!level.empty()) cfg.logging.level = level;
    if (!log_format.empty()) cfg.logging.format = log_format;
    if (!metrics.empty()) cfg.broker.metrics = metrics;
    if (!journal.empty()) cfg.broker.journal.path = config::resolve_path(journal, ".");
    if (!fsync.empty()) cfg.broker.journal.fsync = fsync;
    config::validate(cfg, config::Role::broker);
  } catch (const config::ConfigError& e) {
    std::cerr << "zfleet-broker: " << e.what() << "\n";
    return 2;
  }
  common::set_log_level(cfg.logging.level);
  common::set_log_format(cfg.logging.format);
  int code = 0;
  try {
    broker::Broker b(cfg, {worker_bin.empty() ? default_worker_bin() : worker_bin});
    code = b.run();
  } catch (const std::exception& e) {
    std::cerr << "zfleet-broker: cannot start: " << e.what() << "\n";
    code = 1;
  }
  // A stuck stderr (a pipe nobody reads) must not keep a stopped broker
  // alive: what cannot be written within the limit is left behind.
  if (!common::stop_logging(std::chrono::seconds(2))) std::_Exit(code);
  return code;
}
