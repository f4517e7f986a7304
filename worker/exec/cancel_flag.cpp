#include "worker/exec/cancel_flag.h"

namespace zfleet::worker {

void CancelFlag::request() {
  std::lock_guard lock(mu_);
  if (requested_.load(std::memory_order_relaxed)) return;
  requested_.store(true, std::memory_order_release);
  cv_.notify_all();
  // Under mu_ on purpose: detach() waits for this call to finish, so the
  // listener (a stack object of the pool thread) cannot go away under it.
  if (listener_) listener_->on_cancel();
}

void CancelFlag::reset() {
  std::lock_guard lock(mu_);
  requested_.store(false, std::memory_order_release);
  listener_ = nullptr;
}

void CancelFlag::attach(Listener& listener) {
  std::lock_guard lock(mu_);
  listener_ = &listener;
  // The request came before the listener: it must still hear of it.
  if (requested_.load(std::memory_order_relaxed)) listener.on_cancel();
}

void CancelFlag::detach() {
  std::lock_guard lock(mu_);
  listener_ = nullptr;
}

bool CancelFlag::wait_until(std::chrono::steady_clock::time_point end) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, end, [this] { return requested_.load(std::memory_order_relaxed); });
}

}  // namespace zfleet::worker
