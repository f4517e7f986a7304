// Histogram: latency recording with bounded memory and ~1% precision
// (log-linear buckets: 128 sub-buckets per power of two), for percentiles
// from p50 to max over millions of samples.
//
// Thread safety: one Histogram per thread; merge() to combine.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace zfleet::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  Histogram() : counts_(64 << kSubBits, 0) {}

  void record(uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // Value at quantile q in [0, 1] (upper edge of its bucket, capped at max).
  uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }
  // Calls f(lo, hi, n) for each non-empty bucket in increasing order: `n`
  // values were recorded in lo..hi (inclusive). For plots of the shape.
  template <class F>
  void for_each_bucket(F&& f) const {
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if (counts_[i]) f(lower(i), std::min(upper(i), max_), counts_[i]);
  }

 private:
  static std::size_t index(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<std::size_t>(v);
    int exp = std::bit_width(v) - 1 - kSubBits;  // >= 0
    uint64_t sub = v >> exp;                      // in [128, 256)
    return static_cast<std::size_t>(((exp + 1) << kSubBits) + (sub - (1u << kSubBits)));
  }
  static uint64_t lower(std::size_t i) {
    if (i < (1u << kSubBits)) return i;
    int exp = static_cast<int>(i >> kSubBits) - 1;
    return ((i & ((1u << kSubBits) - 1)) + (1u << kSubBits)) << exp;
  }
  static uint64_t upper(std::size_t i) {
    if (i < (1u << kSubBits)) return i;
    int exp = static_cast<int>(i >> kSubBits) - 1;
    uint64_t sub = (i & ((1u << kSubBits) - 1)) + (1u << kSubBits);
    return ((sub + 1) << exp) - 1;
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace zfleet::bench
