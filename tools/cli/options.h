// What the command line of `zfleet` says, filled by CLI11 in main.cpp and
// read by the commands (commands.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/curve_keys.h"

namespace zfleet::cli {

struct Options {
  // every command but keygen
  std::string config, frontend, results;
  std::string key, server_key;  // CURVE files
  common::CurveOptions curve;   // from them
  int timeout_ms = 5000;        // how long one request may wait for the broker's answer
  // submit
  common::SubmitArgs submit;    // args/kwargs filled from the JSON below
  std::string args_json, kwargs_json;
  std::optional<uint64_t> submit_wait_ms;
  // get
  std::string get_id;
  uint64_t get_wait_ms = 0;
  // cancel, wait
  std::vector<std::string> ids;
  uint64_t wait_timeout_ms = 0;  // wait: 0 = no limit
  // submit-batch
  std::string batch_file = "-";
  uint32_t chunk = 0;            // 0: broker.max_batch from the config (default 10000)
  // reload (and the deprecated `cache clear`)
  std::optional<std::string> reload_script;
  // status (and top, which is status --watch)
  bool json = false;
  bool watch = false;
  double interval_s = 1.0;       // --watch: seconds between refreshes
  std::string sort = "pool";     // --watch: the worker column sorted by (watch_model.h)
  uint64_t count = 0;            // --watch: stop after this many refreshes (0: never)
  // keygen
  std::string key_path;
  bool force = false;
};

}  // namespace zfleet::cli
