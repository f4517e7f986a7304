#include "broker/metrics.h"

namespace zfleet::broker {

uint64_t PoolMetrics::failed_total() const {
  uint64_t n = 0;
  for (const auto& c : failed) n += c.load(std::memory_order_relaxed);
  return n;
}

Metrics::Totals Metrics::totals(int pools) const {
  Totals t;
  for (int i = 0; i < pools && i < common::kMaxPools; ++i) {
    const PoolMetrics& p = pool[i];
    t.submitted += get(p.submitted);
    t.done += get(p.done);
    t.failed += p.failed_total();
    t.retried += get(p.retried);
    t.cancelled += get(p.failed_of(common::TaskErrorCode::cancelled));
    t.running += get(p.running);
    t.queue_depth += get(p.queue_depth);
    t.delayed += get(p.delayed);
  }
  return t;
}

}  // namespace zfleet::broker
