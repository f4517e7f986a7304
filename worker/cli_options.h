// The command line of zfleet-worker: its flags (CLI11), the help text, and
// how flags and an optional config file (-c) become the options of the
// worker's parts. main.cpp only parses, checks and runs.
//
// Precedence: built-in defaults < the config file (its pool: workers.io,
// workers.cpu or workers.pools.NAME, which inherits python.*) < flags.
// Relative paths given as flags are relative to the current folder; those
// in the file to the file's folder (config_loader.h).
//
// Contract: plan_worker() throws config::ConfigError (exit 2) on a bad file,
// an unknown pool (with -c) or a bad flag value; it does not look at the
// filesystem beyond reading the file (start_checks.h does).
//
// Thread safety: functions only; call from main at start-up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/fleet_config.h"
#include "worker/exec/python_runtime.h"
#include "worker/start_checks.h"
#include "worker/worker.h"

namespace zfleet::worker {

struct Flags {
  std::string config, backend, status, type = "io", id, level, log_format, user;
  std::optional<int> threads, heartbeat_ms;
  std::optional<uint32_t> idle_cpu_percent;
  std::optional<uint64_t> idle_cpu_window_ms;
  std::optional<uint64_t> kill_grace_ms, max_message_bytes, drain_timeout_ms;
  std::vector<std::string> roots, python_path;
  std::optional<std::string> venv;
  bool capture_output = false;
  std::optional<uint64_t> max_output_bytes;
  std::optional<uint64_t> max_tasks, max_rss_mb;
  long parent_pid = 0;
  std::string key, server_key, server_public_key;  // CURVE
};

// Everything main needs to start this worker.
struct WorkerPlan {
  config::FleetConfig cfg;  // cfg.python holds this worker's pool's Python settings
  WorkerOptions worker;
  PythonOptions python;
  OutputPolicy output;
  StartPaths paths;  // what start_checks.h verifies, with where each came from
};

void add_flags(CLI::App& app, Flags& f);
WorkerPlan plan_worker(const Flags& f);

}  // namespace zfleet::worker
