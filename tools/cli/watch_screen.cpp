#include "tools/cli/watch_screen.h"

#include "tools/cli/human_units.h"
#include "tools/cli/text_columns.h"

namespace zfleet::cli {
namespace {

using Cut = TextColumn::Cut;

// Parts joined by two spaces, as many as fit; the last one that does not
// fit is cut with an ellipsis.
std::string joined(const std::vector<std::string>& parts, std::size_t width) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    out += (out.empty() ? "" : "  ") + p;
  }
  return fit_end(out, width);
}

std::string header_line(const WatchSnapshot* s, const WatchView& v) {
  std::string left = "zfleet";
  if (s) left += " " + s->version + "  up " + human_uptime_ms(s->uptime_ms);
  // The endpoint gives way first: the clock shows that the screen is live.
  std::string right = v.clock;
  std::size_t fixed = display_width(left) + 2 + (right.empty() ? 0 : display_width(right) + 2);
  std::string ep = v.width > fixed ? fit_middle(v.endpoint, v.width - fixed) : "";
  return joined({left, ep, right}, v.width);
}

std::string tasks_line(const WatchSnapshot& s, std::size_t width) {
  return joined({"tasks: " + human_count(s.done) + " done (" + human_rate(s.done_rate) + "/s)",
                 human_count(s.failed) + " failed", human_count(s.running) + " running",
                 human_count(s.delayed) + " delayed", human_count(s.retried) + " retried"},
                width);
}

TextTable pools_table(const WatchSnapshot& s) {
  TextTable t({{"POOL", 4, true, true, 0, Cut::end},
               {"WORKERS", 7, false, false, 3, Cut::end},
               {"DEPTH", 6, false, false, 0, Cut::end},
               {"DELAYED", 7, false, false, 0, Cut::end},
               {"RUNNING", 7, false, false, 0, Cut::end},
               {"DONE", 6, false, false, 0, Cut::end},
               {"FAILED", 6, false, false, 2, Cut::end},
               {"DONE/S", 6, false, false, 1, Cut::end},
               {"FAIL/S", 6, false, false, 4, Cut::end}});
  for (const auto& p : s.pools) {
    t.add_row({p.name, human_count(p.workers), human_count(p.depth), human_count(p.delayed),
               human_count(p.running), human_count(p.done), human_count(p.failed),
               human_rate(p.done_rate), human_rate(p.fail_rate)});
  }
  return t;
}

// Drop ranks: the columns a narrow terminal loses first have the highest.
TextTable workers_table(const std::vector<WorkerRow>& rows) {
  TextTable t({{"ID", 8, true, true, 0, Cut::middle},
               {"POOL", 4, true, true, 0, Cut::end},
               {"HOST", 4, true, true, 7, Cut::end},
               {"PID", 7, false, false, 1, Cut::end},
               {"THR", 3, false, false, 8, Cut::end},
               {"ACT", 3, false, false, 0, Cut::end},
               {"INFL", 4, false, false, 2, Cut::end},
               {"DONE", 5, false, false, 0, Cut::end},
               {"FAIL", 5, false, false, 6, Cut::end},
               {"RATE", 5, false, false, 5, Cut::end},
               {"RSS", 5, false, false, 4, Cut::end},
               {"RST", 3, false, false, 9, Cut::end},
               {"HB", 5, false, false, 3, Cut::end}});
  for (const auto& w : rows) {
    t.add_row({w.id, w.pool, w.host, std::to_string(w.pid), human_count(w.threads),
               human_count(w.active), human_count(w.inflight), human_count(w.done),
               human_count(w.failed), human_rate(w.done_rate), human_bytes(w.rss_bytes),
               w.restarts ? human_count(*w.restarts) : "-",
               w.alive ? human_duration_ms(w.heartbeat_age_ms) : "dead"});
  }
  return t;
}

std::string hint_line(const WatchView& v) {
  std::string order = std::string(sort_key_name(v.sort.key)) + (v.sort.reversed ? ", reversed" : "");
  if (!v.keys) return fit_end("workers by " + order, v.width);
  return fit_end("q quit  s/</> sort: " + order + "  r reverse", v.width);
}

void append(std::vector<std::string>& out, const std::vector<std::string>& lines) {
  out.insert(out.end(), lines.begin(), lines.end());
}

// `workers` (header + rows) cut so that `used` lines before it and `after`
// lines after it fit in `height`, the last row saying how many were left out.
std::vector<std::string> cut_to_height(std::vector<std::string> workers, std::size_t used,
                                       std::size_t after, std::size_t height, std::size_t width) {
  if (height == 0 || used + workers.size() + after <= height) return workers;
  std::size_t room = height > used + after ? height - used - after : 0;
  if (room < 2) return {};  // not even the header and one line
  std::size_t rows = room - 2;  // header, then rows, then "+N more"
  std::size_t hidden = workers.size() - 1 - rows;
  workers.resize(1 + rows);
  workers.push_back(fit_end("+" + std::to_string(hidden) + " more workers (s: sort)", width));
  return workers;
}

}  // namespace

std::vector<std::string> render_watch(const WatchSnapshot* snap, const WatchView& v) {
  std::vector<std::string> out{header_line(snap, v)};
  if (snap) out.push_back(tasks_line(*snap, v.width));
  if (!v.problem.empty()) out.push_back(fit_end(v.problem, v.width));
  if (!snap) return out;
  out.emplace_back();
  append(out, pools_table(*snap).render(v.width));
  for (const auto& r : snap->restarting) out.push_back(fit_end("restarting: " + r, v.width));
  out.emplace_back();
  auto rows = snap->workers;
  sort_workers(rows, v.sort);
  auto workers = workers_table(rows).render(v.width);
  const std::size_t after = 2;  // a blank line and the hint
  append(out, cut_to_height(std::move(workers), out.size(), after, v.height, v.width));
  out.emplace_back();
  out.push_back(hint_line(v));
  if (v.height && out.size() > v.height) out.resize(v.height);  // a very short terminal
  return out;
}

}  // namespace zfleet::cli
