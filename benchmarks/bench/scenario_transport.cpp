// transport: the raw ZeroMQ forwarding round trip, the limit every other
// figure is a fraction of (benchmarks/README.md "Bars").
#include <cstdio>
#include <filesystem>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"

namespace zfleet::bench {

TransportResult run_transport(const Opts& o) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
  return measure_transport(self.c_str(), o.transport_count, o.transport_window);
}

int cmd_transport(const Opts& o) {
  TransportResult r = run_transport(o);
  if (o.json) {
    JsonObject j;
    j.add("scenario", "transport").add("count", o.transport_count)
        .add("pipelined_per_s", r.pipelined_per_s, 0).add("round_trip", latency_json(r.round_trip_us));
    print_json(j);
  } else {
    std::printf("transport limit: producer DEALER -> ROUTER/ROUTER forwarder -> echo DEALER and back\n"
                "(three processes, 64-byte messages)\n");
    print_latency("round trip", r.round_trip_us);
    std::printf("pipelined (window %zu): %.0f round trips/s\n", o.transport_window, r.pipelined_per_s);
  }
  return write_plots(o, 0, {{"", transport_figure(r)}});
}

}  // namespace zfleet::bench
