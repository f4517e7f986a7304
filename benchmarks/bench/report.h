// Output helpers shared by the scenarios: latency rows and objects from a
// Histogram, and the "as a fraction of the transport limit" figures of
// --vs-transport (throughput / transport pipelined round trips per second;
// latency / transport one-at-a-time round trip), so every scenario reports
// them the same way in its table and in its JSON.
//
// Thread safety: functions only; they write to stdout.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "benchmarks/bench/histogram.h"
#include "benchmarks/bench/json_writer.h"
#include "benchmarks/bench/transport.h"

namespace zfleet::bench {

// {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"}.
JsonObject latency_json(const Histogram& h);
// One table row: "what  p50 ... us  p90 ...  p99 ...  p99.9 ...  max ...".
void print_latency(const char* what, const Histogram& h);
void print_json(const JsonObject& o);

// The transport figures themselves: {"pipelined_per_s", "round_trip": {...}}.
JsonObject transport_json(const TransportResult& t);

// What a scenario measured, to be put next to the transport limit.
struct VsTransport {
  std::vector<std::pair<const char*, double>> rates;       // tasks/s figures
  std::vector<std::pair<const char*, uint64_t>> latencies; // microsecond figures
};
// Adds "transport" and "vs_transport" ({name: fraction}) to `o` when `ref`
// is set; latencies compare with the transport percentile of the same name
// (p50_us with p50, p99_us with p99, anything else with p50).
void add_vs_transport(JsonObject& o, const VsTransport& v, const TransportResult* ref);
// The same as table lines ("tasks/s = 31.2% of the transport's 130,000/s").
void print_vs_transport(const VsTransport& v, const TransportResult* ref);

}  // namespace zfleet::bench
