#include "worker/exec/script_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace zfleet::worker {

int64_t wall_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

bool quiet(const FileStamp& stamp, int64_t now_ns, std::chrono::nanoseconds settle) {
  return now_ns - stamp.ctime_ns >= settle.count();
}

Settled wait_until_quiet(const std::string& path, FileStamp stamp, std::chrono::milliseconds limit,
                         std::chrono::nanoseconds settle) {
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + limit;
  auto seen_since = Clock::now();  // when we first saw `stamp`
  for (;;) {
    const int64_t now = wall_now_ns();
    if (quiet(stamp, now, settle) || Clock::now() - seen_since >= settle) return {true, stamp, false};
    if (Clock::now() >= give_up) return {false, stamp, false};
    // Until the ctime is `settle` old (or `settle` of our own watching).
    auto wait = std::min<std::chrono::nanoseconds>(settle - (Clock::now() - seen_since),
                                                   std::chrono::nanoseconds(stamp.ctime_ns + settle.count() - now));
    wait = std::clamp<std::chrono::nanoseconds>(wait, std::chrono::milliseconds(1), settle);
    wait = std::min<std::chrono::nanoseconds>(wait, give_up - Clock::now() + std::chrono::milliseconds(1));
    std::this_thread::sleep_for(wait);
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return {false, stamp, true};
    const FileStamp now_stamp = file_stamp(st);
    if (!(now_stamp == stamp)) {
      stamp = now_stamp;
      seen_since = Clock::now();
    }
  }
}

ScriptSnapshot read_script(const std::string& path) {
  ScriptSnapshot snap;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snap.error = std::strerror(errno);
    return snap;
  }
  struct stat before{};
  if (::fstat(fd, &before) != 0) {
    snap.error = std::strerror(errno);
    ::close(fd);
    return snap;
  }
  snap.stamp = file_stamp(before);
  snap.bytes.reserve(static_cast<std::size_t>(std::max<off_t>(before.st_size, 0)));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      snap.error = std::strerror(errno);
      ::close(fd);
      return snap;
    }
    snap.bytes.append(buf, static_cast<std::size_t>(n));
  }
  struct stat after{};
  const bool stat_ok = ::fstat(fd, &after) == 0;
  ::close(fd);
  snap.ok = true;
  snap.changed_while_reading = !stat_ok || !(file_stamp(after) == snap.stamp) ||
                               snap.bytes.size() != static_cast<std::size_t>(before.st_size);
  return snap;
}

}  // namespace zfleet::worker
