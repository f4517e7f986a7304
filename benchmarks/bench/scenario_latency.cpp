// latency: closed loop, one task at a time: submit, wait for the ack, get
// with wait_ms; the round trip as the client sees it.
#include <cstdio>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"
#include "common/clock.h"

namespace zfleet::bench {

LatencyResult run_latency(const Endpoints& ep, const Opts& o) {
  zmq::context_t ctx(1);
  LoadClient client(ctx, ep.frontend, ep.results, ep.curve);
  auto kind = task_kind(o.task, o.type);
  LatencyResult r;
  for (std::size_t i = 0; i < o.count; ++i) {
    uint64_t t0 = common::now_us();
    bool ok = client.round_trip(kind, o.wait_ms);
    uint64_t t1 = common::now_us();
    ok ? r.round_trip_us.record(t1 - t0) : (void)++r.errors;
  }
  return r;
}

int cmd_latency(const Opts& o, const Endpoints& ep, const TransportResult* ref) {
  LatencyResult r = run_latency(ep, o);
  const Histogram& h = r.round_trip_us;
  VsTransport vs{{}, {{"p50_us", h.percentile(0.5)}, {"p99_us", h.percentile(0.99)}}};
  if (o.json) {
    JsonObject j;
    j.add("scenario", "latency").add("task", o.task).add("type", o.type).add("count", o.count)
        .add("errors", r.errors).add("round_trip", latency_json(h));
    add_vs_transport(j, vs, ref);
    print_json(j);
  } else {
    std::printf("latency  task %s (%s): %zu closed-loop submit+ack+get(wait) round trips, %zu errors\n",
                o.task.c_str(), o.type.c_str(), o.count, r.errors);
    print_latency("round trip", h);
    print_vs_transport(vs, ref);
  }
  return write_plots(o, r.errors == 0 ? 0 : 1, {{"", latency_figure(o, r)}});
}

}  // namespace zfleet::bench
