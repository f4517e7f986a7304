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
  Parked& p = waiters_.try_emplace(serial).first->second;
  p.serial = serial;
  p.w = std::move(w);
  p.slots.resize(pending.size());
  for (std::size_t i = 0; i < pending.size(); ++i) {
    SlotRef& ref = p.slots[i];
    ref.pos = pending[i];
    ref.owner = &p;
    Bucket& b = by_id_[p.w.ids[ref.pos]];
    ref.bucket = &b;
    ref.prev = b.tail;
    (b.tail ? b.tail->next : b.head) = &ref;
    b.tail = &ref;
    ++b.size;
  }
}

void Waiters::unlink(SlotRef& ref) {
  Bucket* b = ref.bucket;
  if (b == nullptr) return;
  (ref.prev ? ref.prev->next : b->head) = ref.next;
  (ref.next ? ref.next->prev : b->tail) = ref.prev;
  ref.bucket = nullptr;
  ref.prev = ref.next = nullptr;
  if (--b->size == 0) by_id_.erase(ref.owner->w.ids[ref.pos]);
}

std::vector<Waiter> Waiters::finished(const std::shared_ptr<const common::ResultRecord>& rec,
                                     std::size_t max_slots, bool& more) {
  std::vector<Waiter> done;
  more = false;
  auto it = by_id_.find(rec->id);
  if (it == by_id_.end()) return done;
  Bucket* b = &it->second;
  // The oldest max_slots slots (or all); the rest stay for the next call.
  const std::size_t n = std::min(max_slots, b->size);
  more = n < b->size;
  for (std::size_t k = 0; k < n; ++k) {
    SlotRef& ref = *b->head;
    Parked& p = *ref.owner;
    unlink(ref);  // erases the bucket with its last slot (k == n - 1 then)
    Found& f = p.w.found[ref.pos];
    f.state = rec->state;
    f.rec = rec;
    // A get_many naming this id twice has two slots here: it completes on
    // the second, once.
    if (--p.w.remaining == 0) {
      done.push_back(std::move(p.w));
      waiters_.erase(p.serial);
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

// Unlinks the slots a waiter still has in the index: O(1) each, however
// many other waiters share its ids.
void Waiters::unindex(Parked& p) {
  for (SlotRef& ref : p.slots) unlink(ref);
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

std::vector<Waiter> Waiters::take_all() {
  std::vector<Waiter> out;
  out.reserve(waiters_.size());
  for (auto& [serial, p] : waiters_) out.push_back(std::move(p.w));
  waiters_.clear();
  by_id_.clear();
  deadlines_ = decltype(deadlines_)();
  return out;
}

uint64_t Waiters::next_timeout_us(uint64_t now_us, uint64_t cap) const {
  if (deadlines_.empty()) return cap;
  const uint64_t at = std::max(deadlines_.top().first, next_batch_us_);
  return at <= now_us ? 0 : std::min(cap, at - now_us);
}

}  // namespace zfleet::broker
