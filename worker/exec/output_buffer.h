// The pure halves of task output handling (output_capture.h is the Python
// half): OutputBuffer keeps the first max_bytes of a task's output for its
// result, LineSplitter turns a stream of writes into whole log lines, and
// escape_controls() keeps one log line one line.
//
// OutputBuffer contract: append() in write order; finish() returns what was
// kept, cut back to a UTF-8 character boundary, and when anything was
// dropped (past max_bytes, or the partial character at the cut) a marker
// "[output truncated: N bytes dropped]" on a line of its own after it. So
// the result is at most max_bytes plus the marker's ~45 bytes. Never holds
// more than max_bytes.
//
// LineSplitter contract: append() calls `emit` once per complete line
// (without its "\n"); a line longer than kMaxLine is emitted in pieces of
// kMaxLine bytes so one runaway line cannot grow without bound; flush()
// emits the unfinished rest, if any.
//
// Thread safety: none; each object belongs to one task (or is guarded by
// the GIL, output_capture.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace zfleet::worker {

class OutputBuffer {
 public:
  explicit OutputBuffer(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  void append(std::string_view text);
  std::string finish() const;

  uint64_t total_bytes() const { return total_; }

 private:
  uint64_t max_bytes_;
  uint64_t total_ = 0;
  std::string kept_;  // at most max_bytes_
};

class LineSplitter {
 public:
  static constexpr std::size_t kMaxLine = 16 * 1024;
  using Emit = std::function<void(std::string_view line)>;

  void append(std::string_view text, const Emit& emit);
  void flush(const Emit& emit);
  bool empty() const { return partial_.empty(); }

 private:
  std::string partial_;
};

// `text` with control characters other than tab shown as \n, \r, \xNN.
std::string escape_controls(std::string_view text);

// The length of the longest prefix of `text`, at most `limit` bytes, that
// does not end inside a UTF-8 sequence.
std::size_t utf8_prefix(std::string_view text, std::size_t limit);

}  // namespace zfleet::worker
