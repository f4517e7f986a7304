#include "worker/result_outbox.h"

namespace zfleet::worker {

bool ResultOutbox::add(common::Frames result, uint64_t now_us, bool hold) {
  std::lock_guard lock(mu_);
  if (items_.empty()) oldest_us_ = now_us;
  items_.push_back(std::move(result));
  bool release = !hold || items_.size() >= kMaxHeld || now_us - oldest_us_ >= kMaxHoldUs;
  if (!release || wake_pending_) return false;
  wake_pending_ = true;
  return true;
}

std::vector<common::Frames> ResultOutbox::take() {
  std::vector<common::Frames> out;
  std::lock_guard lock(mu_);
  out.swap(items_);
  wake_pending_ = false;
  return out;
}

std::vector<common::Frames> ResultOutbox::take_overdue(uint64_t now_us) {
  {
    std::lock_guard lock(mu_);
    if (items_.empty() || now_us - oldest_us_ < kMaxHoldUs) return {};
  }
  return take();
}

bool ResultOutbox::held() const {
  std::lock_guard lock(mu_);
  return !items_.empty();
}

}  // namespace zfleet::worker
