#include "worker/exec/timeout_watchdog.h"

#include <exception>

#include "common/fail_loudly.h"
#include "common/threads.h"
#include "worker/exec/exec_log.h"
#include "worker/exec/gil.h"

namespace zfleet::worker {

TimeoutWatchdog::TimeoutWatchdog(PyObject* timeout_type, PyObject* cancel_type)
    : timeout_type_(timeout_type),
      cancel_type_(cancel_type),
      sleeping_until_(Clock::time_point::max()) {
  thread_ = std::thread([this] {
    common::name_this_thread("zf-watchdog");
    loop();
  });
}

TimeoutWatchdog::~TimeoutWatchdog() { stop(); }

void TimeoutWatchdog::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t TimeoutWatchdog::arm(unsigned long thread_id, Clock::time_point deadline) {
  bool earlier = false;
  uint64_t token = 0;
  {
    std::lock_guard lock(mu_);
    token = next_token_++;
    armed_.emplace(token, Armed{thread_id, deadline});
    earlier = deadline < sleeping_until_;
  }
  // Wake the thread only when it sleeps past the new deadline: with long
  // deadlines armed, most tasks finish before and never wake it.
  if (earlier) wake_.notify_one();
  return token;
}

void TimeoutWatchdog::cancel(uint64_t token) {
  {
    std::lock_guard lock(mu_);
    auto it = armed_.find(token);
    if (it == armed_.end() || it->second.fired != Interrupt::none) return;
    it->second.cancel = true;
  }
  wake_.notify_one();
}

Interrupt TimeoutWatchdog::disarm(uint64_t token) {
  Armed armed{};
  {
    std::lock_guard lock(mu_);
    auto it = armed_.find(token);
    if (it == armed_.end()) return Interrupt::none;
    armed = it->second;
    armed_.erase(it);
  }
  // Set but maybe not raised yet (the call returned first): clear it. We hold
  // the GIL, and the watchdog only sets under the GIL with the entry present,
  // so nothing can be set for this arm after this point.
  if (armed.fired != Interrupt::none) PyThreadState_SetAsyncExc(armed.thread_id, nullptr);
  return armed.fired;
}

void TimeoutWatchdog::loop() {
  // Fail loudly (DESIGN decision 9): without this thread no timeout and no
  // cancel would ever interrupt a Python task again.
  try {
    serve();
  } catch (const std::exception& e) {
    common::die(exec_logger(), std::string("timeout watchdog thread failed: ") + e.what());
  } catch (...) {
    common::die(exec_logger(), "timeout watchdog thread failed");
  }
}

TimeoutWatchdog::Clock::time_point TimeoutWatchdog::next_due() const {
  Clock::time_point next = Clock::time_point::max();
  for (const auto& [token, armed] : armed_) {
    if (armed.fired != Interrupt::none) continue;
    if (armed.cancel) return Clock::time_point::min();  // due now
    if (armed.deadline < next) next = armed.deadline;
  }
  return next;
}

void TimeoutWatchdog::serve() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const Clock::time_point next = next_due();
    if (next > Clock::now()) {
      sleeping_until_ = next;
      if (next == Clock::time_point::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, next);
      }
      sleeping_until_ = Clock::time_point::max();
      continue;
    }
    lock.unlock();
    fire_due();  // takes the GIL, then mu_: never hold mu_ while waiting for the GIL
    lock.lock();
  }
}

void TimeoutWatchdog::fire_due() {
  GilAcquire gil;
  std::lock_guard lock(mu_);
  const Clock::time_point now = Clock::now();
  for (auto& [token, armed] : armed_) {
    if (armed.fired != Interrupt::none) continue;
    if (armed.cancel) {
      PyThreadState_SetAsyncExc(armed.thread_id, cancel_type_);
      armed.fired = Interrupt::cancel;
    } else if (armed.deadline <= now) {
      PyThreadState_SetAsyncExc(armed.thread_id, timeout_type_);
      armed.fired = Interrupt::timeout;
    }
  }
}

}  // namespace zfleet::worker
