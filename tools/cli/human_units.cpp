#include "tools/cli/human_units.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace zfleet::cli {
namespace {

// `n` in powers of `base` with a suffix (k, M, G, T, P, E), the value kept
// below 1000 so that the result fits in 4 columns: "1.2k", "34M", "999G".
std::string with_suffix(uint64_t n, double base) {
  static constexpr const char* kSuffix = "kMGTPE";
  double v = static_cast<double>(n);
  int unit = -1;
  do {
    v /= base;
    ++unit;
  } while (v >= 999.5 && unit < 5);
  char buf[32];
  if (v < 9.95) std::snprintf(buf, sizeof buf, "%.1f%c", v, kSuffix[unit]);
  else std::snprintf(buf, sizeof buf, "%.0f%c", v, kSuffix[unit]);
  return buf;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The byte offset just past the first `cols` code points of `s`.
std::size_t prefix_bytes(std::string_view s, std::size_t cols) {
  std::size_t i = 0, seen = 0;
  while (i < s.size()) {
    if (!is_continuation(s[i])) {
      if (seen == cols) break;
      ++seen;
    }
    ++i;
  }
  return i;
}

// The byte offset where the last `cols` code points of `s` start.
std::size_t suffix_start(std::string_view s, std::size_t cols) {
  std::size_t i = s.size(), seen = 0;
  while (i > 0 && seen < cols) {
    --i;
    if (!is_continuation(s[i])) ++seen;
  }
  return i;
}

bool utf8_locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    std::string_view s(v);
    return s.find("UTF-8") != s.npos || s.find("utf-8") != s.npos || s.find("UTF8") != s.npos ||
           s.find("utf8") != s.npos;
  }
  return false;
}

}  // namespace

std::string human_count(uint64_t n) {
  if (n < 100000) return std::to_string(n);
  return with_suffix(n, 1000.0);
}

std::string human_bytes(uint64_t n) {
  if (n < 1000) return std::to_string(n);
  return with_suffix(n, 1024.0);
}

std::string human_rate(std::optional<double> per_s) {
  if (!per_s || !std::isfinite(*per_s) || *per_s < 0) return "-";
  double v = *per_s;
  char buf[32];
  if (v < 0.05) return "0";
  if (v < 99.95) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
    std::string s = buf;
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
  }
  if (v < 99999.5) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  return with_suffix(static_cast<uint64_t>(v + 0.5), 1000.0);
}

std::string human_duration_ms(uint64_t ms) {
  char buf[32];
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 9950) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  if (ms < 60000) return std::to_string((ms + 500) / 1000) + "s";
  if (ms < 3600000) return std::to_string(ms / 60000) + "m";
  if (ms < 86400000) return std::to_string(ms / 3600000) + "h";
  return std::to_string(ms / 86400000) + "d";
}

std::string human_uptime_ms(uint64_t ms) {
  uint64_t s = ms / 1000;
  char buf[48];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llus", (unsigned long long)s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60));
  else std::snprintf(buf, sizeof buf, "%llud%02lluh", (unsigned long long)(s / 86400), (unsigned long long)(s % 86400 / 3600));
  return buf;
}

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += is_continuation(c) ? 0 : 1;
  return n;
}

std::string_view ellipsis() {
  static const bool utf8 = utf8_locale();
  return utf8 ? "\xE2\x80\xA6" : "~";
}

std::string fit_end(std::string_view s, std::size_t width) {
  if (display_width(s) <= width) return std::string(s);
  if (width == 0) return "";
  std::string out(s.substr(0, prefix_bytes(s, width - 1)));
  out += ellipsis();
  return out;
}

std::string fit_middle(std::string_view s, std::size_t width) {
  if (display_width(s) <= width) return std::string(s);
  if (width < 3) return fit_end(s, width);
  std::size_t tail = (width - 1) / 2, head = width - 1 - tail;
  std::string out(s.substr(0, prefix_bytes(s, head)));
  out += ellipsis();
  out += s.substr(suffix_start(s, tail));
  return out;
}

}  // namespace zfleet::cli
