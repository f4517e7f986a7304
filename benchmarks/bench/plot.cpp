#include "benchmarks/bench/plot.h"

#include <cstdio>

namespace zfleet::bench::plot {
namespace {

// gnuplot single-quoted strings interpret nothing but '' (one quote); a
// newline would end the command, so it becomes a space.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "''";
    } else {
      out += (c == '\n' || c == '\r') ? ' ' : c;
    }
  }
  return out + "'";
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

bool drawable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

std::vector<std::pair<double, double>> kept_points(const Panel& p, const Series& s) {
  bool ylog = s.axis == Axis::kY2 ? p.y2.log : p.y.log;
  std::vector<std::pair<double, double>> out;
  for (const auto& [x, y] : s.points)
    if (drawable(x, p.x.log) && drawable(y, ylog)) out.emplace_back(x, y);
  return out;
}

std::string block_name(std::size_t panel, std::size_t series) {
  return "$d" + std::to_string(panel) + "_" + std::to_string(series);
}

void write_block(std::string& out, const std::string& name,
                 const std::vector<std::pair<double, double>>& pts) {
  out += name + " << EOD\n";
  for (const auto& [x, y] : pts) out += num(x) + " " + num(y) + "\n";
  out += "EOD\n";
}

// "[min:max]", `*` for an end left to gnuplot. Appended piece by piece:
// gcc 12 warns (-Wrestrict, a false positive) on "[" + std::string&&.
std::string range(const AxisSpec& a) {
  std::string out = "[";
  out += std::isnan(a.min) ? "*" : num(a.min);
  out += ":";
  out += std::isnan(a.max) ? "*" : num(a.max);
  out += "]";
  return out;
}

void write_axis(std::string& out, const char* name, const AxisSpec& a) {
  if (!a.title.empty()) out += std::string("set ") + name + "label " + quoted(a.title) + "\n";
  if (a.log) out += std::string("set logscale ") + name + " 10\nset format " + name + " '%g'\n";
  out += std::string("set ") + name + "range " + range(a) + "\n";
  // An x end left to gnuplot fits the data, not the next tic (3.5 s for a
  // 3 s run); y ends keep that room above the highest point.
  if (std::string(name) == "x") {
    if (std::isnan(a.min)) out += "set autoscale xfixmin\n";
    if (std::isnan(a.max)) out += "set autoscale xfixmax\n";
  }
}

void write_markers(std::string& out, const Panel& p) {
  for (const auto& m : p.markers) {
    if (!drawable(m.x, p.x.log)) continue;
    out += "set arrow from " + num(m.x) + ", graph 0 to " + num(m.x) +
           ", graph 1 nohead dt 2 lc rgb '#555555'\n";
    out += "set label " + quoted(m.label) + " at " + num(m.x) +
           ", graph 0.97 rotate by 90 right offset -0.7,0 tc rgb '#444444'\n";
  }
  for (const auto& n : p.notes)
    if (drawable(n.x, p.x.log) && drawable(n.y, p.y.log))
      out += "set label " + quoted(n.text) + " at " + num(n.x) + ", " + num(n.y) +
             " offset 0.8,0.8\n";
}

// `points`: how many are drawn; a line through one point would not show.
std::string style_of(const Series& s, std::size_t points) {
  std::string lc = s.color.empty() ? "" : " lc rgb " + quoted(s.color);
  std::string dt = s.dashed ? " dt 2" : "";
  if (points == 1 && s.style != Style::kPoints) return "with points pt 7 ps 0.9" + lc;
  switch (s.style) {
    case Style::kLinesPoints: return "with linespoints lw 2 pt 7 ps 0.9" + lc + dt;
    case Style::kPoints: return "with points pt 7 ps 0.6" + lc;
    case Style::kFilled: return "with filledcurves x1 fs transparent solid 0.35 noborder" + lc;
    case Style::kLines: break;
  }
  return "with lines lw 2" + lc + dt;
}

// One panel: its settings (reset first, since multiplot keeps them from
// one panel to the next) and its plot command over the blocks written for it.
void write_panel(std::string& out, const Panel& p, std::size_t index) {
  out += "reset\nset title " + quoted(p.title) + "\n";
  out += "set grid xtics ytics lc rgb '#e0e0e0'\nset key below horizontal samplen 2\n";
  std::vector<std::string> plots;
  bool y2 = false;
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    std::size_t n = kept_points(p, s).size();
    if (n == 0) continue;
    y2 = y2 || s.axis == Axis::kY2;
    plots.push_back(block_name(index, i) + " using 1:2" +
                    (s.axis == Axis::kY2 ? " axes x1y2 " : " ") + style_of(s, n) + " title " +
                    quoted(s.title));
  }
  if (plots.empty()) {  // nothing to draw: say so rather than fail on an empty range
    out += "set label 'no data' at graph 0.5, graph 0.5 center\n"
           "set xrange [0:1]\nset yrange [0:1]\nplot NaN notitle\n";
    return;
  }
  write_axis(out, "x", p.x);
  write_axis(out, "y", p.y);
  if (y2) {
    write_axis(out, "y2", p.y2);
    out += "set ytics nomirror\nset y2tics\n";
  }
  if (!p.x_tics.empty()) {
    std::string tics;
    for (double t : p.x_tics) tics += (tics.empty() ? "" : ", ") + num(t);
    out += "set xtics (" + tics + ")\n";
  }
  write_markers(out, p);
  out += "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) out += (i ? ", \\\n     " : "") + plots[i];
  out += "\n";
}

}  // namespace

std::string script(const Figure& fig, const std::string& png_path, Size size) {
  std::size_t panels = fig.panels.empty() ? 1 : fig.panels.size();
  std::string out = "# written by zfleet-bench --plot; run again with: gnuplot THIS_FILE\n";
  out += "set terminal pngcairo size " + std::to_string(size.width) + "," +
         std::to_string(size.panel_height * static_cast<int>(panels)) +
         " noenhanced font 'sans,10'\n";
  out += "set output " + quoted(png_path) + "\n";
  for (std::size_t p = 0; p < fig.panels.size(); ++p)
    for (std::size_t s = 0; s < fig.panels[p].series.size(); ++s)
      write_block(out, block_name(p, s), kept_points(fig.panels[p], fig.panels[p].series[s]));
  out += "set multiplot layout " + std::to_string(panels) + ",1 title " + quoted(fig.title) + "\n";
  for (std::size_t p = 0; p < fig.panels.size(); ++p) write_panel(out, fig.panels[p], p);
  if (fig.panels.empty()) write_panel(out, Panel{}, 0);
  out += "unset multiplot\nset output\n";
  return out;
}

}  // namespace zfleet::bench::plot
