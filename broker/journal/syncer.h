// PeriodicSyncer: the fdatasync of `fsync: every_ms`, on its own thread
// ("zf-jsync"), so that the journal thread keeps writing and acknowledging
// while a sync runs. With the sync on the journal thread, every submit and
// result of a sync's duration waited for it (p99 = the length of a sync,
// 14 - 197 ms on a busy disk); the policy only promises that a machine
// crash loses at most about every_ms of acknowledged records, which a sync
// running beside the writes keeps.
//
// Contract:
// - written(fd): the journal thread appended bytes to fd. The syncer then
//   runs fdatasync(fd) once every_ms has passed since its last sync ended
//   (at once if it has), covering everything written before the call.
// - detach(): the journal thread is about to close the file (rotation, stop;
//   it syncs that file itself before closing). Waits for a sync in progress
//   on it to end; the syncer does not touch the fd afterwards.
// - A failed fdatasync is fatal (common::die): an acknowledged record that
//   cannot be made durable must not stay acknowledged silently.
// - start() once, stop() (also the destructor) joins the thread; a sync in
//   progress finishes first.
//
// Thread safety: written(), detach() from the journal thread; start() and
// stop() from the thread that owns the syncer. The fd is shared under the
// mutex; stats are atomics (stats.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "broker/journal/stats.h"

namespace zfleet::broker::journal {

class PeriodicSyncer {
 public:
  PeriodicSyncer(uint32_t every_ms, JournalStats& stats) : every_us_(every_ms * 1000ull), stats_(stats) {}
  ~PeriodicSyncer() { stop(); }
  PeriodicSyncer(const PeriodicSyncer&) = delete;
  PeriodicSyncer& operator=(const PeriodicSyncer&) = delete;

  void start();
  void stop();
  void written(int fd);
  void detach();

 private:
  void run();
  bool wait_until_due(std::unique_lock<std::mutex>& lock);

  const uint64_t every_us_;
  JournalStats& stats_;
  std::mutex mutex_;
  std::condition_variable wake_;  // the syncer waits on it
  std::condition_variable idle_;  // detach() waits on it for a sync to end
  int fd_ = -1;
  bool dirty_ = false;    // bytes written to fd_ since the last sync began
  bool syncing_ = false;  // fdatasync(fd_) is running, outside the mutex
  bool stopping_ = false;
  uint64_t last_sync_end_us_ = 0;
  std::thread thread_;
};

}  // namespace zfleet::broker::journal
