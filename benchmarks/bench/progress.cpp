#include "benchmarks/bench/progress.h"

#include <unistd.h>

#include <cstdio>

#include "common/clock.h"

namespace zfleet::bench {

std::string group_digits(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Progress::Progress(std::size_t total, bool enabled)
    : total_(total), enabled_(enabled), last_us_(common::now_us()) {}

bool Progress::wanted(bool json, bool progress_flag) {
  return !json && progress_flag && isatty(STDERR_FILENO);
}

void Progress::update(std::size_t n, const char* what) {
  if (!enabled_) return;
  uint64_t now = common::now_us();
  if (now - last_us_ < kRefreshUs) return;
  // A new phase (n went back) restarts the rate from zero.
  std::size_t base = n >= last_n_ ? last_n_ : 0;
  double rate = static_cast<double>(n - base) * 1e6 / static_cast<double>(now - last_us_);
  draw(group_digits(n) + "/" + group_digits(total_) + " " + what + "  " +
       group_digits(static_cast<uint64_t>(rate)) + "/s");
  last_us_ = now;
  last_n_ = n;
}

void Progress::note(const std::string& text) {
  if (!enabled_) return;
  draw(text);
  last_us_ = common::now_us();  // the next rate counts from here
  last_n_ = 0;
}

void Progress::draw(const std::string& text) {
  std::fprintf(stderr, "\r  %-*s", kWidth - 2, text.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r%*s\r", kWidth, "");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace zfleet::bench
