#include "benchmarks/bench/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>

#include "benchmarks/bench/progress.h"

namespace zfleet::bench {
namespace {

using plot::Axis;
using plot::Series;
using plot::Style;

constexpr int kBinsPerDecade = 20;
constexpr uint64_t kRateBinUs = 100'000;  // rate over time: 100 ms bins...
constexpr std::size_t kRatePoints = 300;  // ...or wider, to keep at most this many
const char* const kBlue = "#1f77b4";
const char* const kOrange = "#ff7f0e";
const char* const kGrey = "#555555";

std::string us_text(uint64_t us) {
  if (us < 10'000) return std::to_string(us) + " us";
  if (us < 1'000'000) return format_number("%.3g ms", static_cast<double>(us) / 1e3);
  return format_number("%.3g s", static_cast<double>(us) / 1e6);
}

// Bin edges 10^(1/20) apart, rounded up to whole microseconds with repeats
// dropped (so 1..10 us are 1 us bins, not empty slivers), from 1 to past `max`.
std::vector<double> log_edges(uint64_t max) {
  double top = std::min(static_cast<double>(max), 1e15);
  std::vector<double> e;
  for (int k = 0; e.empty() || e.back() <= top; ++k) {
    double v = std::ceil(std::pow(10.0, k / static_cast<double>(kBinsPerDecade)) - 1e-9);
    if (e.empty() || v > e.back()) e.push_back(v);
  }
  return e;
}

// The share of tasks per bin, as the outline of bars (0 at both ends).
Series bins_series(const Histogram& h, const std::vector<double>& edges) {
  std::vector<uint64_t> n(edges.size(), 0);
  h.for_each_bucket([&](uint64_t lo, uint64_t, uint64_t c) {
    if (lo == 0) return;  // not on a log axis; still in the cumulative line
    auto it = std::upper_bound(edges.begin(), edges.end(), static_cast<double>(lo));
    n[static_cast<std::size_t>(it - edges.begin()) - 1] += c;
  });
  Series s{"tasks per bin (" + group_digits(h.count()) + " in all)", {}, Style::kFilled,
           Axis::kY1, kBlue, false};
  auto first = std::find_if(n.begin(), n.end(), [](uint64_t c) { return c > 0; });
  if (first == n.end()) return s;
  std::size_t a = static_cast<std::size_t>(first - n.begin());
  std::size_t b = n.size() - 1;
  while (n[b] == 0) --b;
  s.points.emplace_back(edges[a], 0);
  for (std::size_t i = a; i <= b; ++i) {
    double width = kBinsPerDecade * std::log10(edges[i + 1] / edges[i]);
    double y = 100.0 * static_cast<double>(n[i]) / static_cast<double>(h.count()) / width;
    s.points.emplace_back(edges[i], y);
    s.points.emplace_back(edges[i + 1], y);
  }
  s.points.emplace_back(edges[b + 1], 0);
  return s;
}

Series cumulative_series(const Histogram& h) {
  Series s{"tasks at or below (cumulative)", {}, Style::kLines, Axis::kY2, kOrange, false};
  uint64_t seen = 0;
  h.for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t c) {
    if (seen == 0) s.points.emplace_back(static_cast<double>(lo), 0);
    seen += c;
    s.points.emplace_back(static_cast<double>(hi),
                          100.0 * static_cast<double>(seen) / static_cast<double>(h.count()));
  });
  return s;
}

// Tics at 1, 2, 5 x 10^k within [lo, hi]; 1, 1.5, 2, 3, 5, 7 x 10^k when
// that gives fewer than 4 (a range of about a decade).
std::vector<double> log_tics(double lo, double hi) {
  auto tics = [&](std::initializer_list<double> steps) {
    std::vector<double> t;
    for (double d = 1; d <= hi; d *= 10)
      for (double m : steps)
        if (m * d >= lo && m * d <= hi) t.push_back(m * d);
    return t;
  };
  auto t = tics({1, 2, 5});
  return t.size() >= 4 ? t : tics({1, 1.5, 2, 3, 5, 7});
}

// p50, p90, p99 and p99.9 on a log axis from lo to hi, as "p50 412 us".
// Percentiles closer than 3% of the axis width to the first of their group
// (about a line of text) share its line and one short label
// ("p99..p99.9 208 ms..209 ms"): their texts would overlap.
std::vector<plot::Marker> percentile_markers(const Histogram& h, double lo, double hi) {
  const double gap = std::pow(hi / lo, 0.03);
  const std::pair<std::string, double> marked[] = {
      {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}};
  std::vector<plot::Marker> out;
  std::string first_name, first_value;
  for (const auto& [name, q] : marked) {
    uint64_t v = h.percentile(q);
    if (!out.empty() && static_cast<double>(v) < out.back().x * gap) {
      out.back().label = first_name + ".." + name + " " + first_value + ".." + us_text(v);
      continue;
    }
    first_name = name;
    first_value = us_text(v);
    out.push_back({static_cast<double>(v), name + " " + first_value});
  }
  return out;
}

Series line(std::string title, std::vector<std::pair<double, double>> pts, Style style,
            const char* color, bool dashed) {
  return {std::move(title), std::move(pts), style, Axis::kY1, color, dashed};
}

}  // namespace

std::string format_number(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

plot::Panel latency_panel(const std::string& title, const Histogram& h) {
  plot::Panel p;
  p.title = title;
  if (h.count() == 0) return p;  // drawn as "no data"
  auto edges = log_edges(h.max());
  p.series = {bins_series(h, edges), cumulative_series(h)};
  uint64_t lowest = 0;
  h.for_each_bucket([&](uint64_t lo, uint64_t, uint64_t) { lowest = lowest ? lowest : lo; });
  double lo = std::max<double>(1, static_cast<double>(lowest)) / 1.15;
  double hi = static_cast<double>(std::max<uint64_t>(h.max(), 1)) * 1.15;
  p.x = {"microseconds (log scale)", true, lo, hi};
  p.y = {"% of tasks per bin (20 bins a decade)", false, 0, NAN};
  p.y2 = {"% of tasks at or below", false, 0, 100};
  p.x_tics = log_tics(lo, hi);
  p.markers = percentile_markers(h, lo, hi);
  return p;
}

plot::Figure latency_figure(const Opts& o, const LatencyResult& r) {
  return {"zfleet-bench latency: task " + o.task + " (" + o.type + "), " +
              group_digits(r.round_trip_us.count()) + " closed-loop round trips",
          {latency_panel("round trip: submit, ack, get with wait, one task at a time",
                         r.round_trip_us)}};
}

plot::Figure throughput_figure(const Opts& o, const ThroughputResult& r) {
  return {"zfleet-bench throughput: task " + o.task + " (" + o.type + "), " +
              group_digits(r.out.done) + " tasks, " +
              group_digits(static_cast<uint64_t>(r.tasks_per_s)) + " tasks/s end to end",
          {latency_panel("queued: accepted -> started on a worker", r.queued_us),
           latency_panel("run: started -> finished on the worker", r.run_us)}};
}

plot::Figure rate_figure(const Opts& o, const RateResult& r) {
  plot::Panel over_time;
  over_time.title = "tasks per second over time";
  double span = r.count > 1 ? static_cast<double>(r.count - 1) / o.rate : 0;
  over_time.series = {
      line("results of done tasks", r.completed.rate_points(kRateBinUs, kRatePoints),
           Style::kLines, kBlue, false),
      line("sent by the bench", r.sent.rate_points(kRateBinUs, kRatePoints), Style::kLines,
           kOrange, true),
      line("offered: " + group_digits(static_cast<uint64_t>(o.rate)) + "/s",
           {{0, o.rate}, {span, o.rate}}, Style::kLines, kGrey, true)};
  over_time.x = {"seconds since the first task was due", false, 0, NAN};
  over_time.y = {"tasks/s (per 100 ms or wider bin)", false, 0, NAN};
  return {"zfleet-bench rate: task " + o.task + " (" + o.type + "), open loop at " +
              group_digits(static_cast<uint64_t>(o.rate)) + "/s, " + group_digits(r.count) +
              " tasks, " + group_digits(r.done) + " done",
          {over_time, latency_panel("latency: intended send time -> result at the client",
                                    r.latency_us)}};
}

plot::Figure scaling_figure(const Opts& o, const std::vector<ScalingRow>& rows) {
  plot::Panel p;
  p.title = "tasks/s end to end, one fleet per worker count";
  std::string title = "zfleet-bench scaling: task " + o.task + " (" + o.type + "), " +
                      group_digits(o.count) + " tasks per fleet";
  if (rows.empty()) return {title, {p}};
  std::vector<std::pair<double, double>> measured, linear;
  int most = 1;
  for (const auto& row : rows) {
    double w = row.workers;
    double x = row.r.tasks_per_s / rows.front().r.tasks_per_s;
    p.notes.push_back({w, row.r.tasks_per_s,
                       group_digits(static_cast<uint64_t>(row.r.tasks_per_s)) + "/s" +
                           (&row == &rows.front() ? "" : format_number(" = %.2fx", x))});
    measured.emplace_back(w, row.r.tasks_per_s);
    linear.emplace_back(w, rows.front().r.tasks_per_s * w / rows.front().workers);
    p.x_tics.push_back(w);
    most = std::max(most, row.workers);
  }
  p.series = {line("measured", measured, Style::kLinesPoints, kBlue, false),
              line("linear from " + std::to_string(rows.front().workers) + " worker(s)", linear,
                   Style::kLines, kGrey, true)};
  p.x = {"worker processes (" + o.type + ")", false, 0, most * 1.1 + 0.4};
  p.y = {"tasks/s", false, 0, NAN};
  return {title, {p}};
}

namespace {

// The pool's process count as steps: it holds each sampled value until the
// next sample.
std::vector<std::pair<double, double>> process_steps(const std::vector<PoolSample>& samples) {
  std::vector<std::pair<double, double>> pts;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    double p = static_cast<double>(samples[i].processes);
    if (i > 0) pts.emplace_back(samples[i].t_s, pts.back().second);
    pts.emplace_back(samples[i].t_s, p);
  }
  return pts;
}

plot::Panel burst_panel(const BurstRow& row, double t_end, double wait_top, double processes_top) {
  plot::Panel p;
  const Histogram& q = row.r.queued_us;
  const int n = row.pool.processes;
  p.title = row.mode + " (" +
            (row.pool.adaptive() ? std::to_string(row.pool.min_processes) + "-" +
                                       std::to_string(row.pool.max_processes) + " processes"
                                 : std::to_string(n) + (n == 1 ? " process" : " processes")) +
            "): queue wait p99 " + us_text(q.percentile(0.99)) + ", " +
            format_number("%.2f processes and ", row.mean_processes) + format_number("%.1f MiB on average", row.mean_rss_mib);
  std::vector<std::pair<double, double>> waits;
  waits.reserve(row.r.queued_at.size());
  for (const auto& [t, wait_ms] : row.r.queued_at) waits.emplace_back(row.offset_s + t, wait_ms);
  Series processes{"processes", process_steps(row.samples), Style::kLines, Axis::kY2, kOrange, false};
  p.series = {line("queue wait of a task, at its send time", std::move(waits), Style::kPoints, kBlue, false),
              std::move(processes)};
  p.x = {"seconds", false, 0, t_end};
  p.y = {"queue wait (ms)", false, 0, wait_top};
  p.y2 = {"processes", false, 0, processes_top};
  return p;
}

}  // namespace

plot::Figure burst_figure(const Opts& o, const std::vector<BurstRow>& rows) {
  double t_end = 1, wait_top = 1, processes_top = o.max_processes + 1;
  for (const auto& row : rows) {
    if (!row.samples.empty()) t_end = std::max(t_end, row.samples.back().t_s);
    wait_top = std::max(wait_top, static_cast<double>(row.r.queued_us.max()) / 1e3 * 1.05);
    processes_top = std::max(processes_top, static_cast<double>(row.max_processes) + 1);
  }
  plot::Figure f{"zfleet-bench burst: task " + o.task + " at " +
                     group_digits(static_cast<uint64_t>(o.rate)) + "/s for " + format_number("%g s", o.duration_s) +
                     ", pool of " + std::to_string(rows.empty() ? 0 : rows.front().pool.threads) +
                     "-thread processes",
                 {}};
  for (const auto& row : rows) f.panels.push_back(burst_panel(row, t_end, wait_top, processes_top));
  return f;
}

plot::Figure transport_figure(const TransportResult& t) {
  return {"zfleet-bench transport: raw ZeroMQ forwarding, " +
              group_digits(static_cast<uint64_t>(t.pipelined_per_s)) +
              " round trips/s pipelined",
          {latency_panel("round trip, one message at a time", t.round_trip_us)}};
}

}  // namespace zfleet::bench
