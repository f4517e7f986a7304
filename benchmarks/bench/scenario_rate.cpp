// rate: open loop at a fixed rate. Latency is measured from each task's
// intended send time, so queueing in the bench, the broker or the workers
// is never hidden by a sender that slows down with them.
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/open_loop.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/progress.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"

namespace zfleet::bench {
namespace {

void print_rate_table(const Opts& o, const RateResult& r, const VsTransport& vs,
                      const TransportResult* ref) {
  std::printf("rate  task %s (%s), open loop at %s/s, %zu tasks (%.2f s of sends)\n",
              o.task.c_str(), o.type.c_str(), group_digits(static_cast<uint64_t>(o.rate)).c_str(),
              r.count, r.count > 1 ? static_cast<double>(r.count - 1) / o.rate : 0.0);
  std::printf("accepted %zu  rejected %zu  done %zu  failed %zu  lost %zu\n", r.accepted,
              r.rejected, r.done, r.failed, r.lost);
  std::printf("offered %.0f/s  sent %.0f/s  completed %.0f/s (last result at %.3f s)\n",
              r.offered_per_s, r.sent_per_s, r.achieved_per_s, r.seconds);
  print_latency("latency", r.latency_us);
  print_latency("send lag", r.send_lag_us);
  std::printf("(latency: intended send time -> result at the client; send lag: how late the "
              "bench itself sent)\n");
  print_vs_transport(vs, ref);
}

}  // namespace

int cmd_rate(const Opts& o, const Endpoints& ep, const TransportResult* ref) {
  if (!(o.rate > 0)) throw std::invalid_argument("--rate must be > 0");
  RateParams p;
  p.rate = o.rate;
  p.count = o.duration_s > 0 ? static_cast<std::size_t>(std::llround(o.rate * o.duration_s)) : o.count;
  p.wait_ms = o.wait_ms;
  zmq::context_t ctx(1);
  OpenLoop loop(ctx, ep.frontend, ep.results, ep.curve);
  Progress progress(p.count, Progress::wanted(o.json, o.progress));
  RateResult r = loop.run(task_kind(o.task, o.type), p, &progress);
  progress.finish();
  const Histogram& h = r.latency_us;
  VsTransport vs{{{"achieved_per_s", r.achieved_per_s}},
                 {{"p50_us", h.percentile(0.5)}, {"p99_us", h.percentile(0.99)}}};
  if (!o.json) {
    print_rate_table(o, r, vs, ref);
  } else {
    JsonObject j;
    j.add("scenario", "rate").add("task", o.task).add("type", o.type).add("rate", o.rate, 1)
        .add("count", r.count).add("accepted", r.accepted).add("rejected", r.rejected)
        .add("done", r.done).add("failed", r.failed).add("lost", r.lost)
        .add("errors", r.rejected + r.failed).add("offered_per_s", r.offered_per_s, 0)
        .add("sent_per_s", r.sent_per_s, 0).add("achieved_per_s", r.achieved_per_s, 0)
        .add("seconds", r.seconds, 3).add("latency", latency_json(h))
        .add("send_lag", latency_json(r.send_lag_us));
    add_vs_transport(j, vs, ref);
    print_json(j);
  }
  return write_plots(o, r.lost == 0 && r.rejected == 0 ? 0 : 1, {{"", rate_figure(o, r)}});
}

}  // namespace zfleet::bench
