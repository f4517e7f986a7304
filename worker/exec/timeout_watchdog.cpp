#include "worker/exec/timeout_watchdog.h"

#include "worker/exec/gil.h"
#include "common/threads.h"

namespace zfleet::worker {

TimeoutWatchdog::TimeoutWatchdog(PyObject* exception_type)
    : exception_type_(exception_type), sleeping_until_(Clock::time_point::max()) {
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
    armed_.emplace(token, Armed{thread_id, deadline, false});
    earlier = deadline < sleeping_until_;
  }
  // Wake the thread only when it sleeps past the new deadline: with long
  // deadlines armed, most tasks finish before and never wake it.
  if (earlier) wake_.notify_one();
  return token;
}

bool TimeoutWatchdog::disarm(uint64_t token) {
  Armed armed{};
  {
    std::lock_guard lock(mu_);
    auto it = armed_.find(token);
    if (it == armed_.end()) return false;
    armed = it->second;
    armed_.erase(it);
  }
  // Set but maybe not raised yet (the call returned first): clear it. We hold
  // the GIL, and the watchdog only sets under the GIL with the entry present,
  // so nothing can be set for this arm after this point.
  if (armed.fired) PyThreadState_SetAsyncExc(armed.thread_id, nullptr);
  return armed.fired;
}

void TimeoutWatchdog::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [token, armed] : armed_) {
      if (!armed.fired && armed.deadline < next) next = armed.deadline;
    }
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
    fire_expired();  // takes the GIL, then mu_: never hold mu_ while waiting for the GIL
    lock.lock();
  }
}

void TimeoutWatchdog::fire_expired() {
  GilAcquire gil;
  std::lock_guard lock(mu_);
  const Clock::time_point now = Clock::now();
  for (auto& [token, armed] : armed_) {
    if (armed.fired || armed.deadline > now) continue;
    PyThreadState_SetAsyncExc(armed.thread_id, exception_type_);
    armed.fired = true;
  }
}

}  // namespace zfleet::worker
