// Timeline: how many events (tasks sent, results received) fell into each
// fixed-width time bin since a start time, for plots of a rate over time.
// Bins are fine (10 ms by default: 6,000 counters a minute) and merged into
// wider ones when drawn, so the recording does not have to know how long
// the run will be.
//
// Thread safety: one Timeline per thread (a value type).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace zfleet::bench {

class Timeline {
 public:
  Timeline() = default;
  explicit Timeline(uint64_t bin_us) : bin_us_(bin_us) {}

  // An event `t_us` microseconds after the start.
  void add(uint64_t t_us) {
    std::size_t i = static_cast<std::size_t>(t_us / bin_us_);
    if (i >= counts_.size()) counts_.resize(i + 1, 0);
    ++counts_[i];
    end_us_ = std::max(end_us_, t_us + 1);
  }
  uint64_t events() const {
    uint64_t n = 0;
    for (auto c : counts_) n += c;
    return n;
  }

  // (middle of the bin in seconds, events per second) for bins at least
  // `min_bin_us` wide, merged so that there are at most `max_points`. The
  // recording ends inside its last bin, at the last event: that bin's rate
  // is over the time up to that event (over its full width, it would show
  // the rate collapsing at the end of every run), and a short last bin is
  // merged into the one before, as a few events alone make a noisy rate.
  std::vector<std::pair<double, double>> rate_points(uint64_t min_bin_us,
                                                     std::size_t max_points) const {
    std::size_t per = std::max<std::size_t>(1, (min_bin_us + bin_us_ - 1) / bin_us_);
    if (max_points > 0) per = std::max(per, (counts_.size() + max_points - 1) / max_points);
    std::vector<std::pair<double, double>> out;
    for (std::size_t first = 0, last = 0; first < counts_.size(); first = last) {
      last = std::min(first + per, counts_.size());
      if (counts_.size() - last < per) last = counts_.size();
      uint64_t n = 0;
      for (std::size_t i = first; i < last; ++i) n += counts_[i];
      double start_s = static_cast<double>(first * bin_us_) / 1e6;
      uint64_t end_us = std::max(std::min<uint64_t>(last * bin_us_, end_us_), (first + 1) * bin_us_);
      double width_s = static_cast<double>(end_us - first * bin_us_) / 1e6;
      out.emplace_back(start_s + width_s / 2, static_cast<double>(n) / width_s);
    }
    return out;
  }

 private:
  uint64_t bin_us_ = 10'000;
  uint64_t end_us_ = 0;  // just after the last event
  std::vector<uint32_t> counts_;
};

}  // namespace zfleet::bench
