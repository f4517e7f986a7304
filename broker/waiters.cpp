#include "broker/waiters.h"

namespace zfleet::broker {

void Waiters::add(Waiter w, const std::vector<std::size_t>& pending) {
  uint64_t serial = next_serial_++;
  w.remaining = pending.size();
  w.found.resize(w.ids.size());
  for (std::size_t pos : pending) {
    if (w.found[pos].final()) w.found[pos] = {common::TaskState::pending, nullptr};
  }
  deadlines_.emplace(w.deadline_us, serial);
  Waiter& parked = waiters_.emplace(serial, std::move(w)).first->second;
  for (std::size_t pos : pending) by_id_.emplace(std::string_view(parked.ids[pos]), Slot{serial, pos});
}

std::vector<Waiter> Waiters::finished(const std::shared_ptr<const common::ResultRecord>& rec) {
  std::vector<Waiter> done;
  auto range = by_id_.equal_range(std::string_view(rec->id));
  std::vector<uint64_t> complete;
  for (auto r = range.first; r != range.second;) {
    auto w = waiters_.find(r->second.serial);
    if (w != waiters_.end()) {
      Found& f = w->second.found[r->second.pos];
      f.state = rec->state;
      f.rec = rec;
      if (--w->second.remaining == 0) complete.push_back(r->second.serial);
    }
    r = by_id_.erase(r);
  }
  for (uint64_t serial : complete) {
    // All its index entries went with the notices of its ids.
    auto it = waiters_.find(serial);
    done.push_back(std::move(it->second));
    waiters_.erase(it);
  }
  return done;
}

std::vector<Waiter> Waiters::expired(uint64_t now_us) {
  std::vector<Waiter> out;
  while (!deadlines_.empty() && deadlines_.top().first <= now_us) {
    uint64_t serial = deadlines_.top().second;
    deadlines_.pop();
    auto it = waiters_.find(serial);
    if (it == waiters_.end()) continue;  // already answered
    Waiter& w = it->second;
    for (std::size_t pos = 0; pos < w.ids.size(); ++pos) {
      if (w.found[pos].final()) continue;
      auto range = by_id_.equal_range(std::string_view(w.ids[pos]));
      for (auto r = range.first; r != range.second;) {
        r = r->second.serial == serial ? by_id_.erase(r) : std::next(r);
      }
    }
    out.push_back(std::move(w));
    waiters_.erase(it);
  }
  return out;
}

uint64_t Waiters::next_timeout_us(uint64_t now_us, uint64_t cap) const {
  if (deadlines_.empty()) return cap;
  uint64_t at = deadlines_.top().first;
  return at <= now_us ? 0 : std::min(cap, at - now_us);
}

}  // namespace zfleet::broker
