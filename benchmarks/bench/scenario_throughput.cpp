// throughput: N tasks pipelined with a window (or in submit_batch requests),
// then fetched with pipelined get_many + wait_ms; end-to-end tasks/s.
#include <cstdio>

#include "benchmarks/bench/figures.h"
#include "benchmarks/bench/plot_output.h"
#include "benchmarks/bench/progress.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"
#include "common/clock.h"

namespace zfleet::bench {

ThroughputResult run_throughput(const Endpoints& ep, const Opts& o, Progress* progress) {
  zmq::context_t ctx(1);
  LoadClient client(ctx, ep.frontend, ep.results, ep.curve);
  client.set_progress(progress);
  auto kind = task_kind(o.task, o.type);
  ThroughputResult r;
  uint64_t t0 = common::now_us();
  auto ids = client.submit(kind, o.count, o.batch, o.window, r.out);
  uint64_t t1 = common::now_us();
  client.collect(ids, std::chrono::milliseconds(o.wait_ms), r.out);
  uint64_t t2 = common::now_us();
  if (progress) progress->finish();
  r.seconds = static_cast<double>(t2 - t0) / 1e6;
  r.tasks_per_s = static_cast<double>(r.out.done) / r.seconds;
  r.accept_per_s = static_cast<double>(r.out.accepted) * 1e6 / static_cast<double>(t1 - t0);
  for (auto v : r.out.queued_us) r.queued_us.record(v);
  for (auto v : r.out.run_us) r.run_us.record(v);
  return r;
}

int cmd_throughput(const Opts& o, const Endpoints& ep, const TransportResult* ref) {
  Progress progress(o.count, Progress::wanted(o.json, o.progress));
  ThroughputResult r = run_throughput(ep, o, &progress);
  const Outcome& out = r.out;
  VsTransport vs{{{"tasks_per_s", r.tasks_per_s}}, {}};
  if (o.json) {
    JsonObject j;
    j.add("scenario", "throughput").add("task", o.task).add("type", o.type).add("count", o.count)
        .add("accepted", out.accepted).add("rejected", out.rejected).add("done", out.done)
        .add("failed", out.failed).add("lost", out.lost).add("seconds", r.seconds, 3)
        .add("tasks_per_s", r.tasks_per_s, 0).add("accept_per_s", r.accept_per_s, 0)
        .add("queued", latency_json(r.queued_us)).add("run", latency_json(r.run_us));
    add_vs_transport(j, vs, ref);
    print_json(j);
  } else {
    std::printf("throughput  task %s (%s), %zu tasks, batch %zu, window %zu\n", o.task.c_str(),
                o.type.c_str(), o.count, o.batch, o.window);
    std::printf("accepted %zu  rejected %zu  done %zu  failed %zu  lost %zu\n", out.accepted,
                out.rejected, out.done, out.failed, out.lost);
    std::printf("end to end %.3f s = %.0f tasks/s   (acks at %.0f/s)\n", r.seconds, r.tasks_per_s,
                r.accept_per_s);
    print_latency("queued", r.queued_us);
    print_latency("run", r.run_us);
    print_vs_transport(vs, ref);
  }
  return write_plots(o, out.lost == 0 && out.rejected == 0 ? 0 : 1,
                     {{"", throughput_figure(o, r)}});
}

}  // namespace zfleet::bench
