#include "broker/prom_writer.h"

#include <cmath>
#include <cstdio>

namespace zfleet::broker {
namespace {

// Bucket edges of the exported histograms: powers of two from 16 us to
// 2^24 us (about 17 s), then +Inf. Each is an edge of LatencyHistogram below
// its overflow bucket, so each cumulative count is exact.
constexpr int kFirstEdgeLog2 = 4;
constexpr int kLastEdgeLog2 = 24;

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string prom_escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

PromWriter& PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  return *this;
}

void PromWriter::name_and_labels(std::string_view name, Labels labels, std::string_view le) {
  out_.append(name);
  if (labels.size() == 0 && le.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_.append(k).append("=\"").append(prom_escape(v)).append("\"");
  }
  if (!le.empty()) out_.append(first ? "" : ",").append("le=\"").append(le).append("\"");
  out_ += '}';
}

PromWriter& PromWriter::sample(std::string_view name, Labels labels, double value) {
  name_and_labels(name, labels);
  out_.append(" ").append(format_double(value)).append("\n");
  return *this;
}

PromWriter& PromWriter::sample(std::string_view name, Labels labels, uint64_t value) {
  name_and_labels(name, labels);
  out_.append(" ").append(std::to_string(value)).append("\n");
  return *this;
}

PromWriter& PromWriter::histogram(std::string_view name, Labels labels, const LatencyHistogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  // One read of the total: the +Inf bucket and _count must agree even
  // while samples are being recorded.
  const uint64_t count = h.count();
  for (int e = kFirstEdgeLog2; e <= kLastEdgeLog2; ++e) {
    const uint64_t edge_us = uint64_t{1} << e;
    name_and_labels(bucket, labels, format_double(static_cast<double>(edge_us) / 1e6));
    out_.append(" ").append(std::to_string(std::min(h.count_below(edge_us), count))).append("\n");
  }
  name_and_labels(bucket, labels, "+Inf");
  out_.append(" ").append(std::to_string(count)).append("\n");
  sample(std::string(name) + "_sum", labels, static_cast<double>(h.sum_us()) / 1e6);
  sample(std::string(name) + "_count", labels, count);
  return *this;
}

}  // namespace zfleet::broker
