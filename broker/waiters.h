// Waiters: the long-poll `get` / `get_many` requests parked on one result
// thread, without a thread per waiter (PROTOCOL.md "get"). Each waiter keeps
// the request's envelope to answer later, the ids it waits for, and a
// deadline; a finished-task notice or the deadline releases it.
//
// Thread safety: owned by one result thread; not synchronized.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

namespace zfleet::broker {

struct Waiter {
  std::vector<zmq::message_t> envelope;
  std::string corr;
  std::vector<std::string> ids;
  bool many = false;          // get_many: answer with `results`
  std::size_t remaining = 0;  // ids not finished yet
  uint64_t deadline_us = 0;
};

class Waiters {
 public:
  // Parks `w`, waiting on the ids listed in `pending` (a subset of w.ids).
  void add(Waiter w, const std::vector<std::string>& pending);
  // A task finished: returns the waiters this completes (removed).
  std::vector<Waiter> finished(const std::string& id);
  // Returns the waiters whose deadline passed (removed).
  std::vector<Waiter> expired(uint64_t now_us);
  // Microseconds until the next deadline (or `cap`).
  uint64_t next_timeout_us(uint64_t now_us, uint64_t cap) const;
  std::size_t size() const { return waiters_.size(); }

 private:
  Waiter take(uint64_t serial);  // removes a parked waiter and its index entries

  uint64_t next_serial_ = 1;
  std::unordered_map<uint64_t, Waiter> waiters_;
  std::unordered_multimap<std::string, uint64_t> by_id_;
  using Deadline = std::pair<uint64_t, uint64_t>;  // (deadline_us, serial)
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
};

}  // namespace zfleet::broker
