// Broker: wires the broker's threads together and runs its life cycle:
// bind every endpoint (or fail at start), start the local workers, serve
// until SIGINT/SIGTERM, then drain and stop cleanly (DESIGN decision 7).
//
// Threads: the caller's thread (signals, supervision, shutdown), the
// dispatcher, two proxies (frontend, results), broker.queue_threads intake
// threads and broker.result_threads result threads.
//
// Thread safety: run() once, from the main thread.
#pragma once

#include <signal.h>

#include <string>

#include "config/fleet_config.h"

namespace zfleet::broker {

struct BrokerState;

struct BrokerOptions {
  std::string worker_bin;  // zfleet-worker to start local workers with
};

class Broker {
 public:
  Broker(const config::FleetConfig& cfg, BrokerOptions opts) : cfg_(cfg), opts_(std::move(opts)) {}
  // Blocks until stopped by a signal. Returns the process exit code; throws
  // (std::exception) when an endpoint cannot be bound.
  int run();

 private:
  int serve(BrokerState& st, const sigset_t& sigs);

  const config::FleetConfig& cfg_;
  BrokerOptions opts_;
};

}  // namespace zfleet::broker
