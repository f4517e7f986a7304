// Short, human-sized renderings of numbers and text for the narrow columns of
// `zfleet status --watch`: counts (12345, 123k, 1.2M), bytes (512, 1.2k, 34M),
// rates (0.5, 12, 1.2k), durations (320ms, 1.5s, 12m, 3h) and text cut to a
// width with an ellipsis.
//
// Every number comes out in at most 5 columns, so a table can give each of
// them a fixed width. Widths are display columns: this code counts one column
// per UTF-8 code point (no East Asian wide characters in pool names, hosts or
// worker ids, which are what it cuts).
//
// Thread safety: functions only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zfleet::cli {

// Counts: exact below 100000, then k/M/G/T/P/E with one decimal below 10
// ("123k", "1.2M", "34G").
std::string human_count(uint64_t n);

// Bytes in powers of 1024: "512", "1.2k", "34M", "1.5G".
std::string human_bytes(uint64_t n);

// A rate per second: "-" when unknown, "0", "0.5", "12", "12.3"... "1.2k".
std::string human_rate(std::optional<double> per_s);

// A duration: "0ms".."999ms", "1.5s".."59s", "12m", "3h", "2d".
std::string human_duration_ms(uint64_t ms);

// An uptime for the header line: "42s", "12m05s", "3h02m", "2d04h".
std::string human_uptime_ms(uint64_t ms);

// Display columns of `s` (one per UTF-8 code point).
std::size_t display_width(std::string_view s);

// The ellipsis fit_* use: "…" when the locale (LC_ALL, LC_CTYPE, LANG, the
// first one set) says UTF-8, else "~" (one column either way).
std::string_view ellipsis();

// `s` cut to at most `width` columns, the cut marked by the ellipsis at the
// end ("hostname-lo…"): for names whose start tells them apart.
std::string fit_end(std::string_view s, std::size_t width);

// `s` cut to at most `width` columns keeping its start and its end
// ("io-host…-1234"): worker ids differ at the end (their pid).
std::string fit_middle(std::string_view s, std::size_t width);

}  // namespace zfleet::cli
