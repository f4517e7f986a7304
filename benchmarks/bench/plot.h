// A plot, described as data: a Figure is panels stacked top to bottom, each
// with its axes and its series of (x, y) points, and script() turns it into
// one self-contained gnuplot script (data inline as `$dN << EOD` blocks) that
// draws a PNG with the pngcairo terminal. Nothing here knows about the
// bench's scenarios (those figures are built in figures.cpp) or runs
// gnuplot (gnuplot.h), so any later plot (a time series of queue wait and
// process counts, say) is one more Figure.
//
// Conventions the script relies on: points whose x (or y) is not finite, or
// not > 0 on a log axis, are dropped (gnuplot would only warn about them); a
// panel with no point to draw says "no data" instead of failing; text is
// drawn as given (noenhanced: `_` and `^` stay themselves).
//
// Thread safety: value types and a pure function.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace zfleet::bench::plot {

enum class Style {
  kLines,
  kLinesPoints,
  kPoints,
  kFilled,  // the area between the line and the bottom of the panel, half transparent
};

enum class Axis { kY1, kY2 };  // kY2: the scale on the right-hand side

struct Series {
  std::string title;  // legend entry; empty: none
  std::vector<std::pair<double, double>> points;
  Style style = Style::kLines;
  Axis axis = Axis::kY1;
  std::string color;  // "#rrggbb"; empty: gnuplot's next colour
  bool dashed = false;
};

// A vertical line across a panel at x, with `label` written along it.
struct Marker {
  double x = 0;
  std::string label;
};

// Text at a data point (x, y on the left axis), a little above and right of it.
struct Note {
  double x = 0, y = 0;
  std::string text;
};

struct AxisSpec {
  std::string title;
  bool log = false;
  double min = NAN, max = NAN;  // NaN: chosen by gnuplot from the data
};

struct Panel {
  std::string title;
  AxisSpec x, y, y2;  // y2 is drawn only when a series uses Axis::kY2
  std::vector<Series> series;
  std::vector<Marker> markers;
  std::vector<Note> notes;
  std::vector<double> x_tics;  // tics at exactly these x values; empty: automatic
};

struct Figure {
  std::string title;          // above the first panel
  std::vector<Panel> panels;  // top to bottom, each `panel_height` pixels high
};

// The PNG's size: `width` x (`panel_height` x the number of panels).
struct Size {
  int width = 900, panel_height = 340;
};

// The gnuplot script that writes `fig` to `png_path`.
std::string script(const Figure& fig, const std::string& png_path, Size size);

}  // namespace zfleet::bench::plot
