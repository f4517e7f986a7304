// TimeoutWatchdog: one C++ thread that interrupts Python calls that run past
// their deadline, or that a cancel request stops, by raising an exception in
// the calling thread with PyThreadState_SetAsyncExc (zeromq-notes 4.2):
// `timeout_type` (zfleet.TaskTimeout) at the deadline, `cancel_type`
// (zfleet.TaskCancelled) on cancel().
//
// Contract: a pool thread arms its Python thread id (with a deadline, or
// none) before a Python task and disarms it right after the call returns.
// When the deadline passes or cancel() is called first, the watchdog takes
// the GIL and sets the matching async exception; it fires once per arm (the
// first of the two wins). CPython raises it the next time that thread
// executes bytecode, so a call blocked in C (time.sleep, a socket) finishes
// late instead. disarm() clears an exception that was set but not yet
// raised, so it can never leak into the thread's next task, and says which
// one fired.
//
// Why a thread for cancel too: the request comes from the worker's I/O
// thread, which must never wait for the GIL (a busy task would delay its
// heartbeats); cancel() only marks the arm and wakes the watchdog.
//
// Thread safety: arm() and cancel() from any thread, without the GIL or with
// it; cancel() never blocks on Python. disarm() needs the GIL (the GIL plus
// mu_ serialize it against the watchdog's SetAsyncExc: after disarm returns
// nothing more is set for that arm). Lock order: GIL, then a CancelFlag's
// mutex, then mu_. stop() and the destructor must be called WITHOUT the GIL
// (they join the thread, which may be waiting for the GIL).
#pragma once

#include <Python.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "worker/exec/cancel_flag.h"

namespace zfleet::worker {

// What a watchdog raised in an armed call.
enum class Interrupt : uint8_t { none, timeout, cancel };

class TimeoutWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // Both types borrowed; they must stay alive until the watchdog stops.
  TimeoutWatchdog(PyObject* timeout_type, PyObject* cancel_type);
  ~TimeoutWatchdog();
  TimeoutWatchdog(const TimeoutWatchdog&) = delete;
  TimeoutWatchdog& operator=(const TimeoutWatchdog&) = delete;

  // Returns a token for cancel() and disarm(). `thread_id` is
  // PyThread_get_thread_ident(); Clock::time_point::max() means no deadline.
  uint64_t arm(unsigned long thread_id, Clock::time_point deadline);

  // Raise cancel_type in that arm's thread as soon as the GIL allows. A
  // token already disarmed or fired is ignored.
  void cancel(uint64_t token);

  // GIL held. Returns which exception was set for this arm, if any.
  Interrupt disarm(uint64_t token);

  void stop();

 private:
  struct Armed {
    unsigned long thread_id;
    Clock::time_point deadline;
    bool cancel = false;  // cancel() asked for it
    Interrupt fired = Interrupt::none;
  };

  void loop();
  void serve();
  Clock::time_point next_due() const;  // mu_ held
  void fire_due();

  PyObject* timeout_type_;
  PyObject* cancel_type_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<uint64_t, Armed> armed_;  // guarded by mu_
  uint64_t next_token_ = 1;                    // guarded by mu_
  Clock::time_point sleeping_until_;           // guarded by mu_; max() when idle
  bool stopping_ = false;                      // guarded by mu_
  std::thread thread_;
};

// Arms the calling thread for its scope, with a deadline and/or a cancel
// flag; disarms on scope exit (also on an exception) unless disarm() was
// called. While armed it listens to the flag and forwards a request to the
// watchdog. Create and destroy with the GIL held; a null watchdog, or
// neither a deadline nor a flag, makes it inert.
class ArmedTimeout final : public CancelFlag::Listener {
 public:
  ArmedTimeout(TimeoutWatchdog* watchdog,
               std::optional<TimeoutWatchdog::Clock::time_point> deadline,
               CancelFlag* cancel = nullptr)
      : watchdog_(deadline || cancel ? watchdog : nullptr), cancel_(watchdog_ ? cancel : nullptr) {
    if (!watchdog_) return;
    token_ = watchdog_->arm(PyThread_get_thread_ident(),
                            deadline.value_or(TimeoutWatchdog::Clock::time_point::max()));
    if (cancel_) cancel_->attach(*this);  // after arm(): on_cancel needs the token
  }
  ~ArmedTimeout() { disarm(); }
  ArmedTimeout(const ArmedTimeout&) = delete;
  ArmedTimeout& operator=(const ArmedTimeout&) = delete;

  // Returns what fired. Idempotent.
  Interrupt disarm() {
    if (cancel_) {
      cancel_->detach();  // first: no on_cancel() may reach a disarmed token
      cancel_ = nullptr;
    }
    if (watchdog_) {
      fired_ = watchdog_->disarm(token_);
      watchdog_ = nullptr;
    }
    return fired_;
  }

  // The I/O thread, through CancelFlag::request().
  void on_cancel() override { watchdog_->cancel(token_); }

 private:
  TimeoutWatchdog* watchdog_;
  CancelFlag* cancel_;
  uint64_t token_ = 0;
  Interrupt fired_ = Interrupt::none;
};

}  // namespace zfleet::worker
