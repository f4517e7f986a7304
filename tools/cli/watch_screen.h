// The screen of `zfleet status --watch`, as lines of text: a header (broker
// version, uptime, endpoint, time of the refresh), a task summary, the pools
// table, the workers table in the chosen order, and a hint line naming the
// keys. Pure layout: no terminal, no sockets, so the unit tests can check
// every width.
//
// Contract: no line is wider than view.width display columns (TextTable
// drops and narrows columns, human_units shortens numbers and names); with
// view.height set, no more than view.height lines, worker rows left out
// first ("+N more workers").
//
// Thread safety: functions only.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tools/cli/watch_model.h"

namespace zfleet::cli {

struct WatchView {
  std::size_t width = 80;
  std::size_t height = 0;   // 0: no limit (not a terminal)
  WatchSort sort;
  std::string endpoint;     // the results endpoint asked
  std::string clock;        // local time of this refresh, "HH:MM:SS"
  std::string problem;      // "" or a line to show under the header ("no answer from ...")
  bool keys = false;        // keys are read: show the hint line
};

// The lines of one refresh; `snap` nullptr: no reply yet (the header and
// the problem line only). Workers are shown in view.sort's order.
std::vector<std::string> render_watch(const WatchSnapshot* snap, const WatchView& view);

}  // namespace zfleet::cli
