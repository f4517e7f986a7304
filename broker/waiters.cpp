#include "broker/waiters.h"

#include <algorithm>

namespace zfleet::broker {

void Waiters::add(Waiter w, const std::vector<std::size_t>& pending) {
  const uint64_t serial = next_serial_++;
  w.remaining = pending.size();
  w.found.resize(w.ids.size());
  for (std::size_t pos : pending) {
    if (w.found[pos].final()) {
      w.found[pos] = Found{};
      w.found[pos].state = common::TaskState::pending;
    }
  }
  deadlines_.emplace(w.deadline_us, serial);
  Parked& p = waiters_.emplace(serial, Parked{std::move(w), {}}).first->second;
  p.slots.reserve(pending.size());
  for (std::size_t pos : pending) {
    Bucket& b = by_id_[p.w.ids[pos]];
    b.push_back(Slot{serial, p.slots.size()});
    p.slots.push_back(SlotRef{pos, &b, std::prev(b.end())});
  }
}

std::vector<Waiter> Waiters::finished(const std::shared_ptr<const common::ResultRecord>& rec,
                                     std::size_t max_slots, bool& more) {
  std::vector<Waiter> done;
  more = false;
  auto bucket = by_id_.find(rec->id);
  if (bucket == by_id_.end()) return done;
  // The slots handled now leave the index first (all of them, or the
  // oldest max_slots; the rest stay for the next call).
  Bucket slots;
  if (bucket->second.size() <= max_slots) {
    slots = std::move(bucket->second);
    by_id_.erase(bucket);
  } else {
    auto end = bucket->second.begin();
    std::advance(end, static_cast<std::ptrdiff_t>(max_slots));
    slots.splice(slots.begin(), bucket->second, bucket->second.begin(), end);
    more = true;
  }
  for (const Slot& s : slots) {
    auto it = waiters_.find(s.serial);
    if (it == waiters_.end()) continue;  // cannot happen: slots leave with their waiter
    Parked& p = it->second;
    SlotRef& ref = p.slots[s.index];
    ref.bucket = nullptr;
    Found& f = p.w.found[ref.pos];
    f.state = rec->state;
    f.rec = rec;
    // A get_many naming this id twice has two slots here: it completes on
    // the second, once.
    if (--p.w.remaining == 0) {
      done.push_back(std::move(p.w));
      waiters_.erase(it);
    }
  }
  if (!done.empty()) drop_stale_deadlines();
  return done;
}

// An answered waiter's deadline stays in the heap until it comes up (a heap
// cannot remove from the middle). Rebuilding it once stale deadlines
// outnumber live waiters keeps its size within twice the waiters, at O(1)
// amortized per answered waiter; otherwise a burst of answered long waits
// (up to an hour each) would hold memory for that hour.
void Waiters::drop_stale_deadlines() {
  if (deadlines_.size() < 2 * waiters_.size() + kMinStaleDeadlines) return;
  std::vector<Deadline> live;
  live.reserve(waiters_.size());
  for (const auto& [serial, p] : waiters_) live.emplace_back(p.w.deadline_us, serial);
  deadlines_ = decltype(deadlines_)(std::greater<>(), std::move(live));
}

// Unlinks the slots a waiter still has in the index: O(1) each, through the
// iterators it kept, however many other waiters share its ids.
void Waiters::unindex(Parked& p) {
  for (SlotRef& ref : p.slots) {
    if (ref.bucket == nullptr) continue;
    ref.bucket->erase(ref.it);
    if (ref.bucket->empty()) by_id_.erase(p.w.ids[ref.pos]);
    ref.bucket = nullptr;
  }
}

std::vector<Waiter> Waiters::expired(uint64_t now_us) {
  std::vector<Waiter> out;
  if (now_us < next_batch_us_) return out;
  while (!deadlines_.empty() && deadlines_.top().first <= now_us) {
    if (out.size() == kMaxExpiredPerCall) {
      next_batch_us_ = now_us + kExpiryPauseUs;  // more are due: after a pause
      break;
    }
    const uint64_t serial = deadlines_.top().second;
    deadlines_.pop();
    auto it = waiters_.find(serial);
    if (it == waiters_.end()) continue;  // already answered
    unindex(it->second);
    out.push_back(std::move(it->second.w));
    waiters_.erase(it);
  }
  return out;
}

uint64_t Waiters::next_timeout_us(uint64_t now_us, uint64_t cap) const {
  if (deadlines_.empty()) return cap;
  const uint64_t at = std::max(deadlines_.top().first, next_batch_us_);
  return at <= now_us ? 0 : std::min(cap, at - now_us);
}

}  // namespace zfleet::broker
