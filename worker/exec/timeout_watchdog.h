// TimeoutWatchdog: one C++ thread that interrupts Python calls that run past
// their deadline, by raising `exception_type` in the calling thread with
// PyThreadState_SetAsyncExc (zeromq-notes 4.2).
//
// Contract: a pool thread arms a deadline for its Python thread id before a
// Python task and disarms it right after the call returns. When the deadline
// passes first, the watchdog takes the GIL and sets the async exception; it
// fires once per arm. CPython raises it the next time that thread executes
// bytecode, so a call blocked in C (time.sleep, a socket) finishes late
// instead. disarm() clears an exception that was set but not yet raised, so
// it can never leak into the thread's next task.
//
// Thread safety: arm() from any thread; disarm() needs the GIL (the GIL plus
// mu_ serialize it against the watchdog's SetAsyncExc: after disarm returns
// nothing more is set for that arm). Lock order: GIL, then mu_. stop() and
// the destructor must be called WITHOUT the GIL (they join the thread, which
// may be waiting for the GIL).
#pragma once

#include <Python.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace zfleet::worker {

class TimeoutWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // `exception_type`: borrowed; must stay alive until the watchdog stops.
  explicit TimeoutWatchdog(PyObject* exception_type);
  ~TimeoutWatchdog();
  TimeoutWatchdog(const TimeoutWatchdog&) = delete;
  TimeoutWatchdog& operator=(const TimeoutWatchdog&) = delete;

  // Returns a token for disarm(). `thread_id` is PyThread_get_thread_ident().
  uint64_t arm(unsigned long thread_id, Clock::time_point deadline);

  // GIL held. Returns true when the exception was set for this arm.
  bool disarm(uint64_t token);

  void stop();

 private:
  struct Armed {
    unsigned long thread_id;
    Clock::time_point deadline;
    bool fired = false;
  };

  void loop();
  void fire_expired();

  PyObject* exception_type_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<uint64_t, Armed> armed_;  // guarded by mu_
  uint64_t next_token_ = 1;                    // guarded by mu_
  Clock::time_point sleeping_until_;           // guarded by mu_; max() when idle
  bool stopping_ = false;                      // guarded by mu_
  std::thread thread_;
};

// Arms a deadline for the calling thread for its scope; disarms on scope exit
// (also on an exception) unless disarm() was called. Create and destroy with
// the GIL held; a null watchdog or no deadline makes it inert.
class ArmedTimeout {
 public:
  ArmedTimeout(TimeoutWatchdog* watchdog, std::optional<TimeoutWatchdog::Clock::time_point> deadline)
      : watchdog_(deadline ? watchdog : nullptr) {
    if (watchdog_) token_ = watchdog_->arm(PyThread_get_thread_ident(), *deadline);
  }
  ~ArmedTimeout() { disarm(); }
  ArmedTimeout(const ArmedTimeout&) = delete;
  ArmedTimeout& operator=(const ArmedTimeout&) = delete;

  // Returns true when the timeout fired. Idempotent.
  bool disarm() {
    if (watchdog_) {
      fired_ = watchdog_->disarm(token_);
      watchdog_ = nullptr;
    }
    return fired_;
  }

 private:
  TimeoutWatchdog* watchdog_;
  uint64_t token_ = 0;
  bool fired_ = false;
};

}  // namespace zfleet::worker
