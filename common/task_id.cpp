#include "common/task_id.h"

#include <cstdio>
#include <random>

namespace zfleet::common {

TaskIdGenerator::TaskIdGenerator() {
  std::random_device rd;
  prefix_ = rd() & 0xffffffu;
}

std::string TaskIdGenerator::next() {
  uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
  char buf[32];
  // 6 + 1 + up to 8 hex digits: inline in std::string for 4 billion tasks.
  int len = std::snprintf(buf, sizeof buf, "%06x-%llx", prefix_,
                          static_cast<unsigned long long>(n));
  return std::string(buf, static_cast<std::size_t>(len));
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    int extra;
    uint32_t cp;
    if (c < 0x80) { ++p; continue; }
    if ((c & 0xe0) == 0xc0) { extra = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { extra = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { extra = 3; cp = c & 0x07; }
    else return false;
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += extra + 1;
  }
  return true;
}

bool valid_task_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  if (id.find('\0') != std::string_view::npos) return false;
  return valid_utf8(id);
}

}  // namespace zfleet::common
