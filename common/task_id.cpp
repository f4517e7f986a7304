#include "common/task_id.h"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>

namespace zfleet::common {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kIdChars = 14;  // 6 bits each: 84 random bits

// The kernel's CSPRNG, fetched 4 KiB at a time per thread: one syscall per
// ~390 ids instead of one per id.
class RandomBuffer {
 public:
  unsigned char take() {
    if (at_ == sizeof buf_) refill();
    return buf_[at_++];
  }

 private:
  void refill() {
    std::size_t got = 0;
    while (got < sizeof buf_) {
      ssize_t n = getrandom(buf_ + got, sizeof buf_ - got, 0);
      if (n > 0) got += static_cast<std::size_t>(n);
      else if (errno != EINTR) throw std::runtime_error("getrandom failed");
    }
    at_ = 0;
  }
  unsigned char buf_[4096];
  std::size_t at_ = sizeof buf_;
};

}  // namespace

std::string TaskIdGenerator::next() {
  thread_local RandomBuffer random;
  char id[1 + kIdChars];
  id[0] = kGeneratedIdPrefix;
  for (std::size_t i = 1; i <= kIdChars; ++i) id[i] = kAlphabet[random.take() & 63];
  return std::string(id, sizeof id);
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
