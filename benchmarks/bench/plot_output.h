// `--plot FILE.png`: where a scenario's figures go and how they are drawn.
//
// A scenario with one figure writes FILE.png; one with several (suite)
// writes FILE-<name>.png for each (FILE-latency.png, ...). Each PNG is drawn
// by gnuplot from a script holding its data (gnuplot.h); the script is
// written to a temporary file and removed, or kept as FILE.gp
// (FILE-<name>.gp) with --plot-script, to be rerun or edited.
//
// Plots are drawn after the scenario has printed its table or JSON, so a
// failed plot loses no figure; it makes the exit code 1 (unless the run
// already failed) and says why on stderr, naming the command and quoting
// gnuplot's stderr. check_plot_target() finds the common problems (missing
// or read-only folder, no gnuplot, a bad --plot-size) before the run starts.
//
// Thread safety: functions only; call from the main thread.
#pragma once

#include <string>
#include <vector>

#include "benchmarks/bench/options.h"
#include "benchmarks/bench/plot.h"

namespace zfleet::bench {

struct NamedFigure {
  std::string name;  // "" for FILE.png, else FILE-<name>.png
  plot::Figure figure;
};

// "" when --plot can work, else why not (the caller exits non-zero).
std::string check_plot_target(const Opts& o);

// The PNG a figure named `name` goes to, for --plot `base`.
std::string plot_path(const std::string& base, const std::string& name);

// Draws `figs` (when --plot is set) and returns `rc`, or 1 when a plot could
// not be drawn. In table mode each written file is named on stdout.
int write_plots(const Opts& o, int rc, const std::vector<NamedFigure>& figs);

}  // namespace zfleet::bench
