// balance: equal tasks spread over the workers of one type; per-worker
// counts from status (before and after) and the largest deviation from the
// mean.
#include <cmath>
#include <cstdio>
#include <thread>

#include "benchmarks/bench/report.h"
#include "benchmarks/bench/scenarios.h"

namespace zfleet::bench {

BalanceResult run_balance(const Endpoints& ep, const Opts& o) {
  zmq::context_t ctx(1);
  LoadClient client(ctx, ep.frontend, ep.results, ep.curve);
  auto kind = task_kind(o.task, o.type);
  auto before = client.worker_counts(o.type);
  Outcome out;
  auto ids = client.submit(kind, o.count, o.batch, o.window, out);
  client.collect(ids, std::chrono::milliseconds(o.wait_ms), out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // status refreshes every 100 ms
  auto after = client.worker_counts(o.type);
  BalanceResult r;
  r.done = out.done;
  r.lost = out.lost;
  uint64_t total = 0;
  for (const auto& [id, n] : after) {
    uint64_t delta = n - (before.count(id) ? before[id] : 0);
    r.per_worker.emplace_back(id, delta);
    total += delta;
  }
  r.mean = r.per_worker.empty() ? 0 : static_cast<double>(total) / static_cast<double>(r.per_worker.size());
  for (const auto& [id, n] : r.per_worker)
    r.max_deviation = std::max(r.max_deviation,
                               std::abs(static_cast<double>(n) - r.mean) / std::max(r.mean, 1.0));
  return r;
}

int cmd_balance(const Opts& o, const Endpoints& ep, const TransportResult* ref) {
  BalanceResult r = run_balance(ep, o);
  if (o.json) {
    JsonObject workers;
    for (const auto& [id, n] : r.per_worker) workers.add(id, n);
    JsonObject j;
    j.add("scenario", "balance").add("task", o.task).add("type", o.type).add("done", r.done)
        .add("lost", r.lost).add("workers", workers).add("max_deviation_pct", r.max_deviation * 100, 1);
    if (ref) j.add("transport", transport_json(*ref));
    print_json(j);
  } else {
    std::printf("balance  task %s (%s), %zu done over %zu workers (mean %.0f)\n", o.task.c_str(),
                o.type.c_str(), r.done, r.per_worker.size(), r.mean);
    for (const auto& [id, n] : r.per_worker)
      std::printf("  %-32s %8llu\n", id.c_str(), (unsigned long long)n);
    std::printf("largest deviation from the mean: %.1f%%\n", r.max_deviation * 100);
  }
  return r.lost == 0 ? 0 : 1;
}

}  // namespace zfleet::bench
