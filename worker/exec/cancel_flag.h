// CancelFlag: the cancel request for the one task a pool thread is running
// (PROTOCOL.md `cancel`, link command CANCEL). The I/O thread sets it; the
// code running the task notices it in one of three ways:
//   - polling requested() (builtin:spin between iterations);
//   - sleeping in wait_until() (builtin:sleep), which returns at once when
//     the flag is set;
//   - a Listener attached for the duration of a Python call: the
//     TimeoutWatchdog's ArmedTimeout, which hands the request to the
//     watchdog thread (the I/O thread never takes the GIL).
//
// Contract: request() is idempotent; it wakes wait_until() and calls the
// attached listener once, on the requesting thread, while holding the
// flag's mutex (so once detach() has returned the listener is never called
// again and may be destroyed). attach() on a flag already requested calls
// the listener at once, on the attaching thread. reset() re-arms the flag
// for the next task; call it only while no listener is attached and nobody
// waits (RunningTasks does it when a pool thread begins a task).
//
// Thread safety: every member is safe from any thread. Lock order: the
// caller's locks (RunningTasks, the GIL), then this flag's mutex, then
// whatever the listener takes (TimeoutWatchdog's mutex). A listener must
// never block on Python or on the thread that attaches it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace zfleet::worker {

class CancelFlag {
 public:
  class Listener {
   public:
    // Called with the flag's mutex held; must be quick and never take the GIL.
    virtual void on_cancel() = 0;

   protected:
    ~Listener() = default;
  };

  CancelFlag() = default;
  CancelFlag(const CancelFlag&) = delete;
  CancelFlag& operator=(const CancelFlag&) = delete;

  bool requested() const noexcept { return requested_.load(std::memory_order_acquire); }
  void request();
  void reset();

  // At most one listener at a time; a second attach() replaces the first.
  void attach(Listener& listener);
  void detach();

  // Sleeps until `end` or until the flag is set; true when it was set.
  bool wait_until(std::chrono::steady_clock::time_point end);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> requested_{false};  // written under mu_, read anywhere
  Listener* listener_ = nullptr;        // guarded by mu_
};

}  // namespace zfleet::worker
