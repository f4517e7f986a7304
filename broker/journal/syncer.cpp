#include "broker/journal/syncer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "broker/broker_log.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/threads.h"

namespace zfleet::broker::journal {

void PeriodicSyncer::start() {
  if (thread_.joinable()) return;
  last_sync_end_us_ = common::now_us();
  thread_ = std::thread([this] {
    common::name_this_thread("zf-jsync");
    run();
  });
}

void PeriodicSyncer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void PeriodicSyncer::written(int fd) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    wake = !dirty_;  // the syncer sleeps without a deadline only when clean
    fd_ = fd;
    dirty_ = true;
  }
  if (wake) wake_.notify_one();
}

void PeriodicSyncer::detach() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return !syncing_; });
  fd_ = -1;
  dirty_ = false;
}

// Waits until a sync is due (dirty for a file, and every_ms after the last
// one ended) or stop() was called. Returns false to stop.
bool PeriodicSyncer::wait_until_due(std::unique_lock<std::mutex>& lock) {
  while (!stopping_) {
    if (!dirty_ || fd_ < 0) {
      wake_.wait(lock);
      continue;
    }
    uint64_t due = last_sync_end_us_ + every_us_, now = common::now_us();
    if (now >= due) return true;
    wake_.wait_for(lock, std::chrono::microseconds(due - now));
  }
  return false;
}

void PeriodicSyncer::run() {
  std::unique_lock lock(mutex_);
  while (wait_until_due(lock)) {
    int fd = fd_;
    dirty_ = false;  // bytes written from now on wait for the next sync
    syncing_ = true;
    lock.unlock();
    uint64_t begin = common::now_us();
    int err = ::fdatasync(fd) == 0 ? 0 : errno;
    uint64_t end = common::now_us();
    if (err != 0) {
      common::die(log(), std::string("journal: cannot fdatasync the open segment: ") + std::strerror(err) +
                             " (a record that cannot be made durable must not be acknowledged)");
    }
    stats_.record_fsync(end, end - begin);
    lock.lock();
    syncing_ = false;
    last_sync_end_us_ = end;
    idle_.notify_all();
  }
}

}  // namespace zfleet::broker::journal
