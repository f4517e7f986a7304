// BrokerState: what the broker's threads share: the configuration, the
// result cache, the live-task table, the metrics and the worker board, plus
// the draining flag. Each member documents its own thread safety; this
// struct only groups them so every thread gets one reference.
#pragma once

#include <atomic>
#include <cstdint>

#include <zmq.hpp>

#include "broker/broker_keys.h"
#include "broker/journal/stats.h"
#include "broker/live_table.h"
#include "broker/metrics.h"
#include "broker/result_cache.h"
#include "broker/worker_board.h"
#include "common/codec.h"
#include "common/task_id.h"
#include "config/fleet_config.h"

namespace zfleet::broker {

// What `status` shows of the journal: figures fixed at start (replay) and
// the live counters of its threads. Set before the serving threads start;
// read-only afterwards (the counters are atomics).
struct JournalInfo {
  const journal::JournalStats* stats = nullptr;  // null: journal off
  common::JournalStatus at_start;
};

struct BrokerState {
  explicit BrokerState(const config::FleetConfig& c);

  const config::FleetConfig& config;
  zmq::context_t ctx;
  const common::PoolNames pools;  // io, cpu, workers.pools: what a task's `type` may name
  common::CodecLimits codec_limits;
  ResultCache cache;
  LiveTable live;
  Metrics metrics;
  WorkerBoard board;
  LocalWorkerBoard local_board;
  common::TaskIdGenerator ids;
  uint64_t started_us;
  std::atomic<bool> draining{false};  // set once on SIGTERM/SIGINT
  JournalInfo journal;
  const std::optional<BrokerKeys> keys;  // CURVE (config `security`); nullopt: none

  // Options for the socket bound at public endpoint `domain`: CURVE server
  // with that ZAP domain, or nothing without `security`.
  common::CurveOptions curve_for(std::string_view domain) const {
    return keys ? keys->server_curve(domain) : common::CurveOptions{};
  }
};

}  // namespace zfleet::broker
