#include "broker/latency_histogram.h"

#include <bit>

namespace zfleet::broker {

// Buckets 0..3 hold 0..3 us exactly; from 4 us on, bucket 4*(e-1)+s holds
// [(4+s) << (e-2), (5+s) << (e-2)) where e = floor(log2(us)).
int LatencyHistogram::bucket_of(uint64_t us) {
  if (us < 4) return static_cast<int>(us);
  int e = std::bit_width(us) - 1;
  int sub = static_cast<int>((us >> (e - 2)) & 3);
  int b = 4 * (e - 1) + sub;
  return b < kBuckets ? b : kBuckets - 1;
}

uint64_t LatencyHistogram::bucket_upper_us(int bucket) {
  if (bucket < 4) return static_cast<uint64_t>(bucket) + 1;
  int e = bucket / 4 + 1, sub = bucket % 4;
  return static_cast<uint64_t>(5 + sub) << (e - 2);
}

void LatencyHistogram::record(uint64_t us) {
  buckets_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::count() const {
  uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

uint64_t LatencyHistogram::count_below(uint64_t edge_us) const {
  uint64_t n = 0;
  // The last bucket also holds everything longer: it is below no edge.
  for (int b = 0; b < kBuckets - 1 && bucket_upper_us(b) <= edge_us; ++b) {
    n += buckets_[b].load(std::memory_order_relaxed);
  }
  return n;
}

uint64_t LatencyHistogram::quantile_us(double p) const {
  uint64_t n = count();
  if (n == 0) return 0;
  auto rank = static_cast<uint64_t>(p * static_cast<double>(n));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return bucket_upper_us(b);
  }
  return bucket_upper_us(kBuckets - 1);
}

}  // namespace zfleet::broker
