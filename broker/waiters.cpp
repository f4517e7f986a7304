#include "broker/waiters.h"

namespace zfleet::broker {

void Waiters::add(Waiter w, const std::vector<std::string>& pending) {
  uint64_t serial = next_serial_++;
  w.remaining = pending.size();
  deadlines_.emplace(w.deadline_us, serial);
  for (const auto& id : pending) by_id_.emplace(id, serial);
  waiters_.emplace(serial, std::move(w));
}

Waiter Waiters::take(uint64_t serial) {
  auto it = waiters_.find(serial);
  for (const auto& id : it->second.ids) {
    auto range = by_id_.equal_range(id);
    for (auto r = range.first; r != range.second;) {
      r = (r->second == serial) ? by_id_.erase(r) : std::next(r);
    }
  }
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  return w;
}

std::vector<Waiter> Waiters::finished(const std::string& id) {
  std::vector<Waiter> done;
  auto range = by_id_.equal_range(id);
  std::vector<uint64_t> complete;
  for (auto r = range.first; r != range.second;) {
    auto w = waiters_.find(r->second);
    if (w != waiters_.end() && --w->second.remaining == 0) complete.push_back(r->second);
    r = by_id_.erase(r);
  }
  for (uint64_t serial : complete) done.push_back(take(serial));
  return done;
}

std::vector<Waiter> Waiters::expired(uint64_t now_us) {
  std::vector<Waiter> out;
  while (!deadlines_.empty() && deadlines_.top().first <= now_us) {
    uint64_t serial = deadlines_.top().second;
    deadlines_.pop();
    if (!waiters_.contains(serial)) continue;  // already answered
    out.push_back(take(serial));
  }
  return out;
}

uint64_t Waiters::next_timeout_us(uint64_t now_us, uint64_t cap) const {
  if (deadlines_.empty()) return cap;
  uint64_t at = deadlines_.top().first;
  return at <= now_us ? 0 : std::min(cap, at - now_us);
}

}  // namespace zfleet::broker
