// PromWriter: builds Prometheus text exposition format 0.0.4, one metric
// family at a time (# HELP, # TYPE, then its samples), escaping label values
// as the format requires. What to export lives in metrics_text.cpp; this is
// only the format.
//
// Contract: call family() once per name, before its samples; a family's
// samples follow it with no other family in between (the format requires
// it). Histograms take a LatencyHistogram in us and are written in seconds.
//
// Thread safety: a value type; use from one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "broker/latency_histogram.h"

namespace zfleet::broker {

class PromWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // type: counter | gauge | histogram.
  PromWriter& family(std::string_view name, std::string_view type, std::string_view help);
  PromWriter& sample(std::string_view name, Labels labels, double value);
  PromWriter& sample(std::string_view name, Labels labels, uint64_t value);
  // A family of one unlabelled sample.
  template <class V>
  PromWriter& single(std::string_view name, std::string_view type, std::string_view help, V value) {
    return family(name, type, help).sample(name, {}, value);
  }
  // name_bucket{...,le=...}, name_sum, name_count, for a histogram in us.
  PromWriter& histogram(std::string_view name, Labels labels, const LatencyHistogram& h);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void name_and_labels(std::string_view name, Labels labels, std::string_view le = {});
  std::string out_;
};

// A label value escaped for the text format: \\, \" and \n.
std::string prom_escape(std::string_view v);

}  // namespace zfleet::broker
