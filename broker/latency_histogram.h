// LatencyHistogram: a lock-free histogram of durations in microseconds, with
// 4 buckets per power of two (about 19% resolution) from 0 us up to about
// 30 s (longer ones count in the last bucket). Used for the journal's fsync
// latency and the per-pool queue-wait and run-time figures that /metrics
// exports as Prometheus histograms.
//
// Thread safety: record() and every reader may run on any thread at once
// (relaxed atomics); a read of several buckets is a near-snapshot, exact
// once the writers have stopped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace zfleet::broker {

class LatencyHistogram {
 public:
  static constexpr int kBuckets = 96;

  void record(uint64_t us);
  uint64_t count() const;
  uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }
  // An upper bound of the p-th quantile (0 < p <= 1), in us: the upper edge
  // of the bucket that holds it. 0 with no samples.
  uint64_t quantile_us(double p) const;
  // Samples below `edge_us`, which must be a bucket edge (every power of
  // two up to 2^24 us is one; the last bucket, from about 29 s up, is below
  // none): the cumulative count of a Prometheus `le` bucket.
  uint64_t count_below(uint64_t edge_us) const;

  static int bucket_of(uint64_t us);
  static uint64_t bucket_upper_us(int bucket);  // exclusive upper edge

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace zfleet::broker
