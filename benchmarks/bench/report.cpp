#include "benchmarks/bench/report.h"

#include <cstdio>
#include <string_view>

#include "benchmarks/bench/progress.h"

namespace zfleet::bench {
namespace {

uint64_t transport_latency(const TransportResult& t, std::string_view name) {
  if (name.starts_with("p99_")) return t.round_trip_us.percentile(0.99);
  return t.round_trip_us.percentile(0.5);
}

const char* transport_latency_name(std::string_view name) {
  return name.starts_with("p99_") ? "p99" : "p50";
}

}  // namespace

JsonObject latency_json(const Histogram& h) {
  JsonObject o;
  o.add("p50_us", h.percentile(0.5))
      .add("p90_us", h.percentile(0.9))
      .add("p99_us", h.percentile(0.99))
      .add("p999_us", h.percentile(0.999))
      .add("max_us", h.max());
  return o;
}

void print_latency(const char* what, const Histogram& h) {
  std::printf("%-10s p50 %6llu us  p90 %6llu us  p99 %6llu us  p99.9 %6llu us  max %7llu us\n",
              what, (unsigned long long)h.percentile(0.5), (unsigned long long)h.percentile(0.9),
              (unsigned long long)h.percentile(0.99), (unsigned long long)h.percentile(0.999),
              (unsigned long long)h.max());
}

void print_json(const JsonObject& o) {
  std::printf("%s\n", o.str().c_str());
  std::fflush(stdout);
}

JsonObject transport_json(const TransportResult& t) {
  JsonObject o;
  o.add("pipelined_per_s", t.pipelined_per_s, 0).add("round_trip", latency_json(t.round_trip_us));
  return o;
}

void add_vs_transport(JsonObject& o, const VsTransport& v, const TransportResult* ref) {
  if (!ref) return;
  JsonObject f;
  for (const auto& [name, value] : v.rates)
    f.add(name, ref->pipelined_per_s > 0 ? value / ref->pipelined_per_s : 0.0, 4);
  for (const auto& [name, value] : v.latencies) {
    uint64_t base = transport_latency(*ref, name);
    f.add(name, base ? static_cast<double>(value) / static_cast<double>(base) : 0.0, 3);
  }
  o.add("transport", transport_json(*ref)).add("vs_transport", f);
}

void print_vs_transport(const VsTransport& v, const TransportResult* ref) {
  if (!ref) return;
  std::printf("vs transport (same run: %s round trips/s pipelined, p50 %llu us, p99 %llu us):\n",
              group_digits(static_cast<uint64_t>(ref->pipelined_per_s)).c_str(),
              (unsigned long long)ref->round_trip_us.percentile(0.5),
              (unsigned long long)ref->round_trip_us.percentile(0.99));
  for (const auto& [name, value] : v.rates) {
    double f = ref->pipelined_per_s > 0 ? value / ref->pipelined_per_s : 0;
    std::printf("  %-16s %10s/s = %5.1f%% of the transport rate\n", name,
                group_digits(static_cast<uint64_t>(value)).c_str(), f * 100);
  }
  for (const auto& [name, value] : v.latencies) {
    uint64_t base = transport_latency(*ref, name);
    double f = base ? static_cast<double>(value) / static_cast<double>(base) : 0;
    std::printf("  %-16s %10llu us = %5.2fx the transport %s\n", name, (unsigned long long)value,
                f, transport_latency_name(name));
  }
}

}  // namespace zfleet::bench
