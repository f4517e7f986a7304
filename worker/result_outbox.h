// ResultOutbox: the named hand-off of finished results from the pool
// threads to the worker's I/O thread, which sends them to the broker.
//
// Why not one inproc message per result: every hand-off to a sleeping I/O
// thread is a wake-up (an eventfd write, a poll return, a context switch),
// and for microsecond tasks those cost more than the tasks. So while a pool
// thread has more short tasks queued it may *hold* its result here; the
// I/O thread is woken once for the whole group. A group is released as soon
// as the queue runs dry, reaches kMaxHeld results, or its oldest result has
// waited kMaxHoldUs. The I/O thread also releases overdue groups itself
// (take_overdue), so a result never waits behind an unexpectedly long task.
//
// Contract: add() returns true when the caller must wake the I/O thread (at
// most one outstanding wake at a time); take() hands over everything held.
//
// Thread safety: internally synchronized; add() from pool threads,
// take()/take_overdue()/held() from the I/O thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "common/worker_link.h"

namespace zfleet::worker {

class ResultOutbox {
 public:
  static constexpr std::size_t kMaxHeld = 64;
  static constexpr uint64_t kMaxHoldUs = 200;

  // `hold`: the caller has more short tasks queued and would rather send
  // this result with the next ones.
  bool add(common::Frames result, uint64_t now_us, bool hold);
  std::vector<common::Frames> take();
  // take(), but only if the oldest held result is past kMaxHoldUs.
  std::vector<common::Frames> take_overdue(uint64_t now_us);
  bool held() const;

 private:
  mutable std::mutex mu_;
  std::vector<common::Frames> items_;  // guarded by mu_
  uint64_t oldest_us_ = 0;             // when items_ became non-empty
  bool wake_pending_ = false;          // a wake was sent and not yet taken
};

}  // namespace zfleet::worker
