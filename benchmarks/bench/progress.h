// Progress: the one-line "\r  12,345/20,000 done  41,000/s" status a long
// scenario keeps refreshed on stderr (a few times a second), so stdout stays
// clean for the table or --json. Disabled (every call a no-op) when asked,
// which the bench does under --json, with --no-progress and when stderr is
// not a terminal.
//
// Thread safety: one Progress per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace zfleet::bench {

// 12345678 -> "12,345,678".
std::string group_digits(uint64_t v);

class Progress {
 public:
  Progress(std::size_t total, bool enabled);
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `n` of `total` have reached `what` ("acked", "done"); redraws at most
  // every kRefreshUs, with the rate since the last redraw.
  void update(std::size_t n, const char* what);
  // Clears the line (once something was drawn).
  void finish();

  static bool wanted(bool json, bool progress_flag);
  // Draws `text` as the status line (e.g. "starting a fleet...") when enabled.
  void note(const std::string& text);

 private:
  static constexpr uint64_t kRefreshUs = 250000;
  static constexpr int kWidth = 78;  // padded so a shorter line hides a longer one
  void draw(const std::string& text);
  std::size_t total_;
  bool enabled_;
  bool drawn_ = false;
  uint64_t last_us_ = 0;
  std::size_t last_n_ = 0;
};

}  // namespace zfleet::bench
