#include "broker/journal/stats.h"

namespace zfleet::broker::journal {

void JournalStats::record_fsync(uint64_t end_us, uint64_t took_us) {
  constexpr auto r = std::memory_order_relaxed;
  fsyncs.fetch_add(1, r);
  fsync_total_us.fetch_add(took_us, r);
  uint64_t max = fsync_max_us.load(r);  // the journal and sync threads both record
  while (took_us > max && !fsync_max_us.compare_exchange_weak(max, took_us, r)) {
  }
  last_fsync_at_us.store(end_us, r);
  last_fsync_us.store(took_us, r);
  fsync_latency.record(took_us);
}

}  // namespace zfleet::broker::journal
