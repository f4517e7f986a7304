// Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.cpp).
//
// A target must not crash, leak or let an exception out on any input; the
// sanitizers report the first two, an escaping exception ends in
// std::terminate. FUZZ_CHECK states a property (a round trip, a bound) and
// aborts when it does not hold, so libFuzzer saves the input as a crash.
//
// Multipart messages are made from the input by splitting it on 0xC1, the
// one byte msgpack never uses: a frame holding msgpack loses nothing a
// well-formed body could contain outside str/bin contents.
//
// Thread safety: functions only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace zfleet::fuzz {

[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", what, file, line);
  std::abort();
}

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) ::zfleet::fuzz::check_failed(#cond, __FILE__, __LINE__);   \
  } while (0)

inline constexpr char kFrameSeparator = '\xc1';

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at every separator: n separators give n + 1 frames.
inline std::vector<std::string_view> split_frames(std::string_view in) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = in.find(kFrameSeparator, start);
    if (end == std::string_view::npos) {
      out.push_back(in.substr(start));
      return out;
    }
    out.push_back(in.substr(start, end - start));
    start = end + 1;
  }
}

inline std::vector<zmq::message_t> to_frames(const std::vector<std::string_view>& parts) {
  std::vector<zmq::message_t> frames;
  frames.reserve(parts.size());
  for (std::string_view p : parts) frames.emplace_back(p.data(), p.size());
  return frames;
}

inline std::string_view view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}

inline bool same_frames(const std::vector<zmq::message_t>& a, const std::vector<zmq::message_t>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (view(a[i]) != view(b[i])) return false;
  }
  return true;
}

// Encoded frames as one string, for comparisons in messages.
inline std::string joined(const std::vector<zmq::message_t>& frames) {
  std::string out;
  for (const auto& f : frames) {
    if (!out.empty()) out.push_back(kFrameSeparator);
    out.append(view(f));
  }
  return out;
}

}  // namespace zfleet::fuzz
