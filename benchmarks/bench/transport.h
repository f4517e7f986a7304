// The transport limit: the raw ZeroMQ forwarding round trip on this machine
// (producer DEALER -> forwarder ROUTER/ROUTER -> echo DEALER and back), in
// three processes like a fleet, with no decoding, no queues and no Python.
// zfleet's figures are reported as a fraction of it, measured in the same
// run (benchmarks/README.md "Bars").
//
// Thread safety: single-threaded functions; the forwarder and echo roles run
// as child processes of the bench.
#pragma once

#include <cstddef>
#include <cstdint>

#include "benchmarks/bench/histogram.h"

namespace zfleet::bench {

struct TransportResult {
  Histogram round_trip_us;     // one message at a time
  double pipelined_per_s = 0;  // `window` messages outstanding
};

// Starts the forwarder and echo processes (this executable, hidden
// subcommands), measures, stops them.
TransportResult measure_transport(const char* self_exe, std::size_t count, std::size_t window);

// The hidden subcommands' bodies.
int run_forwarder();
int run_echo(const char* backend);

}  // namespace zfleet::bench
